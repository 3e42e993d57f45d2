"""Email against a real SMTP server: codes and messages arrive with RFC 8058 headers; the
one-click POST opts out at once and the GET changes nothing; refusals are retried or dead-lettered."""

from __future__ import annotations

import base64
import email.policy
import io
import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from uuid import UUID

import asyncpg
import msgspec
import pytest

from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.settings import Settings
from tests import pii
from tests.api.channels import Client, ask, confirm, contact, eventually, message, program, send
from tests.api.conftest import AuthHeaders
from tests.fakes.smtp import PASSWORD, USERNAME, Mailbox, smtp_server

pytestmark = pytest.mark.integration
PUBLIC = "https://optin.example.org"


@pytest.fixture
def mailbox_and_port() -> Iterator[tuple[Mailbox, int]]:
    yield from smtp_server()


@pytest.fixture
def mailbox(mailbox_and_port: tuple[Mailbox, int]) -> Mailbox:
    return mailbox_and_port[0]


@pytest.fixture
def settings(settings: Settings, mailbox_and_port: tuple[Mailbox, int]) -> Settings:
    return msgspec.structs.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=mailbox_and_port[1],
        smtp_tls="none",
        smtp_username=USERNAME,
        smtp_password=PASSWORD,
        email_from="Shop <news@shop.example.org>",
        public_url=PUBLIC,
        send_retry_seconds=0.05,
        send_max_attempts=3,
        receipts_email=False,  # each mail counted here is one the test sent (receipts: their own tests)
    )


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(mail: EmailMessage) -> str:
    part = mail.get_body(("html",))
    assert part is not None
    return str(part.get_content())


async def arrived(mailbox: Mailbox, address: str, count: int) -> list[EmailMessage]:
    async def probe() -> list[EmailMessage] | None:
        found = mailbox.to(address)
        return found if len(found) >= count else None

    return await eventually(probe)


async def opted_in_by_email(client: Client, mailbox: Mailbox, staff: dict[str, str]) -> tuple[str, str, str]:
    """A contact opted in with the code from the invite that reached the SMTP server."""
    optin = await program(client, staff, ["email"])
    address = pii.email()
    person = await contact(client, staff, "email", address)
    verification = await ask(client, staff, optin, person)
    (invite,) = await arrived(mailbox, address, 1)
    assert invite["Subject"] == "Please confirm: Weekly offers"
    code = re.search(r"\b(\d{6})\b", text_of(invite))
    assert code, text_of(invite)
    await confirm(client, verification, code.group(1))
    return optin, person, address


async def consent_status(client: Client, h: dict[str, str], optin: str, person: str, position: str) -> str:
    got = await client.get(
        "/v1/consent",
        params={"optin_id": optin, "channel": "email", "contact_id": person, "min_position": position},
        headers=h,
    )
    assert got.status_code == 200, got.text
    return str(got.json()["status"])


async def test_a_marketing_email_arrives_with_one_click_headers_and_the_post_opts_out(
    client: Client, mailbox: Mailbox, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    optin, person, address = await opted_in_by_email(client, mailbox, staff)
    queued = await send(
        client, staff, contact_id=person, optin_id=optin, kind="promotional",
        variables={"subject": "Friday deals", "message": "<script>x()</script> 20% off"},
    )  # fmt: skip
    assert queued.status_code == 202, queued.text
    mail = (await arrived(mailbox, address, 2))[-1]
    assert mailbox.logins  # the sender logged in with the configured account
    assert mail["Subject"] == "Friday deals"
    assert mail["From"] == "Shop <news@shop.example.org>"
    assert mail["Message-ID"] == f"<{queued.json()['message_id']}@shop.example.org>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    links = re.findall(r"<([^>]+)>", mail["List-Unsubscribe"])
    assert links[0].startswith(f"{PUBLIC}/u/")
    assert links[1].startswith("mailto:unsubscribe@shop.example.org?subject=")
    assert "&lt;script&gt;x()&lt;/script&gt; 20% off" in html_of(mail)
    assert "<script>" not in html_of(mail)
    assert links[0] in html_of(mail)  # the footer link is the same one-click link
    sent = await message(client, staff, queued.json()["message_id"], "sent")
    assert sent["message"]["basis"]["rule"] == "marketing_consent"

    path = links[0].removeprefix(PUBLIC)
    page = await client.get(path)
    assert page.status_code == 200
    assert "Unsubscribe from all email" in page.text and "Weekly offers" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]  # a page like every page
    assert page.headers["referrer-policy"] == "no-referrer"  # the token is in the URL
    head = str((await client.get("/ready")).json()["ledger_position"])
    assert await consent_status(client, staff, optin, person, head) == "opted_in"  # the GET changed nothing

    clicked = await client.post(path, content=b"List-Unsubscribe=One-Click",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert clicked.status_code == 200, clicked.text
    assert clicked.headers["x-frame-options"] == "DENY" and "You will get no more" in clicked.text
    position = clicked.headers["ledger-position"]
    assert await consent_status(client, staff, optin, person, position) == "opted_out"
    again = await send(client, staff, contact_id=person, optin_id=optin, kind="promotional",
                       variables={"subject": "More", "message": "deals"})  # fmt: skip
    assert again.status_code == 409 and again.json()["reason"] == "opted_out"
    assert len(mailbox.to(address)) == 2  # nothing more was handed to the server
    assert (await client.post(path.replace("/u/", "/u/x"))).status_code == 404


async def test_unsubscribe_from_everything_blocks_transactional_email_too(
    client: Client, mailbox: Mailbox, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    optin, person, address = await opted_in_by_email(client, mailbox, staff)
    orders = await program(client, staff, ["email"], purpose="transactional", name="Orders")
    queued = await send(client, staff, contact_id=person, optin_id=optin, kind="promotional",
                        variables={"subject": "Deals", "message": "10% off"})  # fmt: skip
    mail = (await arrived(mailbox, address, 2))[-1]
    assert queued.status_code == 202
    link = re.findall(r"<([^>]+)>", mail["List-Unsubscribe"])[0].removeprefix(PUBLIC)
    everything = await client.post(link + "?scope=all")
    assert everything.status_code == 200, everything.text
    position = everything.headers["ledger-position"]
    assert await consent_status(client, staff, optin, person, position) == "opted_out"
    assert await consent_status(client, staff, orders, person, position) == "opted_out"  # channel-wide
    receipt = await send(client, staff, contact_id=person, optin_id=orders, kind="transactional",
                         variables={"subject": "Receipt", "message": "Thanks"})  # fmt: skip
    assert receipt.status_code == 409 and receipt.json()["reason"] == "channel_opted_out"


async def test_a_temporary_refusal_is_retried_and_a_permanent_one_dead_letters(
    client: Client, mailbox: Mailbox, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    orders = await program(client, staff, ["email"], purpose="transactional", name="Orders")
    address = pii.email()
    person = await contact(client, staff, "email", address)
    mailbox.refuse_next = ["451 4.3.0 try again later"]
    body = {"contact_id": person, "optin_id": orders, "kind": "transactional",
            "variables": {"subject": "Receipt", "message": "Thanks"}}  # fmt: skip
    first = await send(client, staff, **body)
    assert first.status_code == 202, first.text
    delivered = await message(client, staff, first.json()["message_id"], "sent")
    assert [e["topic"] for e in delivered["events"]][-2:] == ["message.failed", "message.sent"]
    assert len(mailbox.to(address)) == 1
    mailbox.refuse_next = ["550 5.1.1 no such user"]
    second = await send(client, staff, **body)
    dead = await message(client, staff, second.json()["message_id"], "dead_lettered")
    assert dead["message"]["attempts"] == 1 and "550" in dead["message"]["reason"]
    assert len(mailbox.to(address)) == 1


def unfolded_headers(raw: bytes) -> dict[str, str]:
    """The header block as the server received it: names and raw values, continuation lines joined."""
    block = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # raises if any header is not ASCII
    headers: dict[str, str] = {}
    name = ""
    for line in block.split("\r\n"):
        if line[:1] in (" ", "\t"):
            headers[name] += " " + line.strip()
        else:
            name, _, value = line.partition(": ")
            headers[name] = value
    return headers


async def test_invites_and_marketing_carry_list_unsubscribe_as_plain_ascii_in_the_raw_bytes(
    client: Client, mailbox: Mailbox, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    optin, person, address = await opted_in_by_email(client, mailbox, staff)  # the invite arrived
    queued = await send(client, staff, contact_id=person, optin_id=optin, kind="promotional",
                        variables={"subject": "Deals", "message": "Prix réduits: 20 %"})  # fmt: skip
    assert queued.status_code == 202, queued.text
    await arrived(mailbox, address, 2)
    invite, marketing = mailbox.raw_to(address)
    for raw in (invite, marketing):
        strict = BytesParser(policy=email.policy.strict).parsebytes(raw)  # raises on any defect
        value = unfolded_headers(raw)["List-Unsubscribe"]
        assert "=?" not in value  # never RFC 2047 encoded words
        assert re.fullmatch(
            r"<https://optin\.example\.org/u/[A-Za-z0-9_-]{40,}>, "
            r"<mailto:unsubscribe@shop\.example\.org\?subject=unsubscribe%20[A-Za-z0-9_-]{40,}>",
            value,
        ), value
        assert strict["List-Unsubscribe"] == value
        assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
        # DKIM-friendly: 7-bit clean (no relay must re-encode it), lines within SMTP's limit.
        assert raw.isascii() and all(len(line) <= 998 for line in raw.split(b"\r\n"))
        encodings = {str(p.get("Content-Transfer-Encoding", "7bit")) for p in strict.walk()}
        assert encodings <= {"7bit", "quoted-printable", "base64"}
    assert "Prix réduits" in text_of(mailbox.to(address)[1])


async def test_a_refusal_quoting_an_internationalised_address_is_logged_masked_and_recorded_sealed(
    client: Client,
    mailbox: Mailbox,
    auth_headers: AuthHeaders,
    pool: asyncpg.Pool,
    settings: Settings,
    log_output: io.StringIO,
) -> None:
    staff = await auth_headers("staff")
    orders = await program(client, staff, ["email"], purpose="transactional", name="Orders")
    address = pii.remember("jürgen.müller@bücher.de")
    person = await contact(client, staff, "email", address)
    mailbox.refuse_next = [f"550 5.1.1 <{address}>: Recipient address rejected"]
    sent = await send(client, staff, contact_id=person, optin_id=orders, kind="transactional",
                      variables={"subject": "Receipt", "message": "Thanks"})  # fmt: skip
    dead = await message(client, staff, sent.json()["message_id"], "dead_lettered")
    assert dead["message"]["reason"] == "rejected 550"
    rows = await pool.fetch(
        "SELECT topic, state FROM events WHERE originator_id = $1 ORDER BY originator_version",
        UUID(dead["message"]["id"]),
    )
    for row in rows:  # the ledger holds no word of the address, in any spelling
        state = bytes(row["state"])
        assert not any(s in state for s in (b"j\xc3\xbcrgen", b"\\u00fc", b"xn--bcher", b"jurgen"))
    last = msgspec.json.decode(bytes(rows[-1]["state"]))
    assert rows[-1]["topic"] == "message.dead_lettered" and "error" not in last
    assert (last["category"], last["code"], last["legacy_error"]) == ("rejected", "550", None)
    assert settings.kek and settings.index_key
    key = await PostgresDataKeys(pool, settings.kek).get(UUID(person))
    detail = NaclSealer(settings.index_key).open(key, base64.b64decode(last["sealed_detail"]))
    assert detail == "550 5.1.1 <j***@b***.de>: Recipient address rejected"  # the server's words
    logged = [line for line in log_output.getvalue().splitlines() if "email.send_failed" in line]
    assert any("5.1.1 <j***@b***.de>: Recipient address rejected" in line for line in logged)
