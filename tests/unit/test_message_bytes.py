"""An email's bytes, built once: `List-Unsubscribe` stays literal ASCII however long or foreign
its links, and the message is 7-bit clean."""

from __future__ import annotations

import email.policy
from email.parser import BytesParser
from uuid import uuid4

from adapters.email.message_bytes import ascii_url, build_email
from ledger.ports import Outgoing


def mail(url: str, mailto: str | None) -> bytes:
    outgoing = Outgoing(
        message_id=uuid4(), contact_id=uuid4(), kind="promotional", channel="email",
        to="reader@example.org", text="Grüße", subject="Grüße",
        unsubscribe_url=url, unsubscribe_mailto=mailto,
    )  # fmt: skip
    return build_email(outgoing, "Shop <news@shop.example.org>", date="Mon, 30 Nov 2026 05:00:00 +0000").data


def header_lines(raw: bytes, name: bytes) -> list[bytes]:
    lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(name + b": "))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(b" "))
    return lines[start:end]


def test_short_links_share_one_line_and_long_ones_get_a_line_each_never_broken() -> None:
    short = header_lines(mail("https://o.example/u/x", "mailto:u@o.example?subject=x"), b"List-Unsubscribe")
    assert short == [b"List-Unsubscribe: <https://o.example/u/x>, <mailto:u@o.example?subject=x>"]
    url, mailto = "https://o.example/u/" + "A" * 90, "mailto:u@o.example?subject=" + "B" * 90
    long = header_lines(mail(url, mailto), b"List-Unsubscribe")
    assert long == [f"List-Unsubscribe: <{url}>,".encode(), f" <{mailto}>".encode()]


def test_foreign_links_are_written_in_ascii_and_the_message_is_7_bit_clean() -> None:
    assert ascii_url("https://bücher.example:8443/u/tök?a=ü") == (
        "https://xn--bcher-kva.example:8443/u/t%C3%B6k?a=%C3%BC"
    )
    raw = mail("https://bücher.example/u/tök", None)
    assert header_lines(raw, b"List-Unsubscribe") == [
        b"List-Unsubscribe: <https://xn--bcher-kva.example/u/t%C3%B6k>"
    ]
    assert raw.isascii() and b"=?" not in b"".join(header_lines(raw, b"List-Unsubscribe"))
    parsed = BytesParser(policy=email.policy.strict).parsebytes(raw)
    assert parsed["Subject"] == "Grüße" and parsed.get_content().strip() == "Grüße"
