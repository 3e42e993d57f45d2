"""An email on the wire, as a real SMTP server (aiosmtpd) receives it: exactly the bytes built
(nothing re-encodes the message after it is built, so a DKIM signature over it would hold), an
internationalised domain in its IDNA form, and a non-ASCII local part sent with SMTPUTF8."""

from __future__ import annotations

import email.policy
from collections.abc import Iterator
from email.parser import BytesParser
from uuid import uuid4

import pytest

from adapters.email.message_bytes import build_email
from adapters.email.smtp import SmtpSender
from ledger.ports import Outgoing
from tests import pii
from tests.fakes.smtp import PASSWORD, USERNAME, Mailbox, smtp_server

FROM = "Bücher Shop <news@shop.example.org>"


@pytest.fixture
def mailbox_and_port() -> Iterator[tuple[Mailbox, int]]:
    yield from smtp_server()


def sender(port: int) -> SmtpSender:
    return SmtpSender(host="127.0.0.1", port=port, tls="none", sender=FROM, username=USERNAME,
                      password=PASSWORD, timeout=5)  # fmt: skip


def outgoing(to: str) -> Outgoing:
    return Outgoing(
        message_id=uuid4(), contact_id=uuid4(), kind="promotional", channel="email", to=to,
        text="Neue Bücher für Sie.\n", subject="Neue Bücher",
        unsubscribe_url="https://optin.example.org/u/" + "A" * 64,
        unsubscribe_mailto="mailto:unsubscribe@shop.example.org?subject=unsubscribe%20" + "A" * 64,
    )  # fmt: skip


async def test_the_server_receives_exactly_the_bytes_built(mailbox_and_port: tuple[Mailbox, int]) -> None:
    mailbox, port = mailbox_and_port
    mail = outgoing(pii.email())
    message_id = await sender(port).send(mail)
    (raw,) = mailbox.raw
    date = BytesParser(policy=email.policy.strict).parsebytes(raw)["Date"]
    built = build_email(mail, FROM, date=str(date))
    assert raw == built.data  # byte for byte: the date is the only thing that varies
    assert built.message_id == message_id
    assert b"\r\nList-Unsubscribe: <https://optin.example.org/u/" in raw


async def test_an_internationalised_domain_goes_out_in_idna_form(
    mailbox_and_port: tuple[Mailbox, int],
) -> None:
    mailbox, port = mailbox_and_port
    await sender(port).send(outgoing(pii.remember("jurgen@bücher.de")))
    (raw,) = mailbox.raw
    assert mailbox.envelopes[0][1] == ["jurgen@xn--bcher-kva.de"]
    assert "SMTPUTF8" not in mailbox.envelopes[0][2]
    assert b"\r\nTo: jurgen@xn--bcher-kva.de\r\n" in raw and raw.isascii()


async def test_a_non_ascii_local_part_is_sent_with_smtputf8(mailbox_and_port: tuple[Mailbox, int]) -> None:
    mailbox, port = mailbox_and_port
    await sender(port).send(outgoing(pii.remember("jürgen.müller@bücher.de")))
    (raw,) = mailbox.raw
    assert mailbox.envelopes[0][1] == ["jürgen.müller@xn--bcher-kva.de"]
    assert "SMTPUTF8" in mailbox.envelopes[0][2]
    assert "\r\nTo: jürgen.müller@xn--bcher-kva.de\r\n".encode() in raw  # UTF-8, not encoded words
    parsed = BytesParser(policy=email.policy.SMTPUTF8).parsebytes(raw)
    assert parsed["To"] == "jürgen.müller@xn--bcher-kva.de"
    assert parsed["List-Unsubscribe"].startswith("<https://optin.example.org/u/")
