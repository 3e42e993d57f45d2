"""Consent receipts reach the contact, against a real SMTP server and a real Twilio-speaking server:
an opt-in by code gets one receipt email whose link serves a JWS the shipped verifier accepts; a
STOP gets exactly one SMS, its confirmation, carrying the receipt link; a one-click unsubscribe
gets a receipt email; a follower that runs again sends nothing twice; an erased contact gets
nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from uuid import UUID

import asyncpg
import msgspec
import pytest

from adapters.settings import Settings
from api.composition import compose
from projections.consent_receipts import ConsentReceiptFollower
from tests import pii
from tests.api.channels import Client, ask, confirm, contact, eventually, program, send
from tests.api.conftest import AuthHeaders
from tests.api.test_email_channel import arrived, html_of, opted_in_by_email, text_of
from tests.api.test_sms_channel import reply, texts
from tests.fakes.smtp import PASSWORD, USERNAME, Mailbox, smtp_server
from tests.fakes.twilio import NUMBER, SID, TOKEN, Provider, twilio_server

pytestmark = pytest.mark.integration
PUBLIC = "https://optin.example.org"
LINK = re.compile(re.escape(PUBLIC) + r"/r/([A-Za-z0-9_-]{38})\b")
JWS = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
CLI = Path(sys.executable).with_name("optin-ledger")


@pytest.fixture
def mailbox_and_port() -> Iterator[tuple[Mailbox, int]]:
    yield from smtp_server()


@pytest.fixture
def mailbox(mailbox_and_port: tuple[Mailbox, int]) -> Mailbox:
    return mailbox_and_port[0]


@pytest.fixture
def provider_and_url() -> Iterator[tuple[Provider, str]]:
    yield from twilio_server()


@pytest.fixture
def provider(provider_and_url: tuple[Provider, str]) -> Provider:
    return provider_and_url[0]


@pytest.fixture
def receipts_on() -> bool:
    return True


@pytest.fixture
def settings(
    settings: Settings,
    mailbox_and_port: tuple[Mailbox, int],
    provider_and_url: tuple[Provider, str],
    receipts_on: bool,
) -> Settings:
    return msgspec.structs.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=mailbox_and_port[1],
        smtp_tls="none",
        smtp_username=USERNAME,
        smtp_password=PASSWORD,
        email_from="Shop <news@shop.example.org>",
        sms_api_url=provider_and_url[1],
        sms_account_sid=SID,
        sms_auth_token=TOKEN,
        sms_from=NUMBER,
        public_url=PUBLIC,
        sender_name="Corner Shop",
        send_retry_seconds=0.05,
        receipts_email=receipts_on,
        receipts_sms=receipts_on,
    )


async def settled(pool: asyncpg.Pool, *, follower: bool = True) -> None:
    """Wait until the receipt follower (if the app runs one) has seen every event and the worker
    has sent everything."""
    head = await pool.fetchval("SELECT position FROM ledger_head")

    async def quiet() -> bool:
        rows = await pool.fetch("SELECT name, position FROM projection_tracking")
        tracked = {r["name"]: r["position"] for r in rows}
        if follower and tracked.get("consent_receipts", 0) < head:
            return False
        now = await pool.fetchval("SELECT position FROM ledger_head")
        outbox = await pool.fetchval("SELECT count(*) FROM outbox")
        return bool(tracked.get("outbox", 0) >= now and outbox == 0)

    await eventually(quiet)


def receipts_in(mails: list[EmailMessage]) -> list[EmailMessage]:
    return [m for m in mails if str(m["Subject"]).startswith("Your consent receipt")]


async def served(client: Client, token: str) -> list[dict[str, object]]:
    page = await client.get(f"/r/{token}")
    assert page.status_code == 200, page.text
    assert "no-store" in page.headers["cache-control"]
    listed = await client.get(f"/v1/public/receipts/{token}")
    assert listed.status_code == 200, listed.text
    found: list[dict[str, object]] = listed.json()
    for receipt in found:
        assert f"/v1/public/receipts/{token}/{receipt['position']}" in page.text
    return found


def verify(tmp_path: Path, jws: str, vkey: str) -> subprocess.CompletedProcess[str]:
    """`optin-ledger evidence verify` on the receipt file, as a contact's auditor would run it."""
    path = tmp_path / "receipt.jws"
    path.write_text(jws)
    command = [str(CLI), "evidence", "verify", str(path), "--key", vkey]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


async def test_an_opt_in_by_code_gets_one_receipt_email_whose_link_serves_a_verifiable_jws(
    client: Client, mailbox: Mailbox, auth_headers: AuthHeaders, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    staff = await auth_headers("staff")
    _, person, address = await opted_in_by_email(client, mailbox, staff)
    (receipt_mail,) = receipts_in(await arrived(mailbox, address, 2))
    await settled(pool)
    assert len(mailbox.to(address)) == 2  # the invite and the receipt, nothing more
    raw = mailbox.raw_to(address)[1]  # the long JWS travels 7-bit clean, within SMTP's line limit
    assert raw.isascii() and all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert receipt_mail["Subject"] == "Your consent receipt: Weekly offers"
    assert receipt_mail["List-Unsubscribe"] is None  # a receipt is no marketing
    text = text_of(receipt_mail)
    assert "opted in to" in text and address not in text
    link = LINK.search(text)
    assert link, text
    inline = JWS.search(html_of(receipt_mail))
    assert inline, html_of(receipt_mail)

    (receipt,) = await served(client, link.group(1))
    assert receipt["event"] == "consent.granted" and receipt["jws"] == inline.group(0)
    jws = await client.get(f"/v1/public/receipts/{link.group(1)}/{receipt['position']}")
    assert jws.status_code == 200 and jws.headers["content-type"].startswith("application/jose")
    assert jws.text == inline.group(0)
    claims = receipt["receipt"]
    assert isinstance(claims, dict) and claims["piiPrincipalId"] == person
    vkey = (await client.get("/v1/ledger/key")).text.strip()
    result = verify(tmp_path, jws.text, vkey)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"consent.granted at position {receipt['position']}" in result.stdout
    forged = jws.text[:-3] + ("AAA" if not jws.text.endswith("AAA") else "BBB")
    assert verify(tmp_path, forged, vkey).returncode == 1


async def test_a_link_names_only_its_own_receipts(client: Client) -> None:
    for token in ("x", "A" * 38, "not-a-receipt-link-at-all-but-38-chars"):
        assert (await client.get(f"/r/{token}")).status_code == 404
        listed = await client.get(f"/v1/public/receipts/{token}")
        assert listed.status_code == 404
        assert listed.headers["content-type"].startswith("application/problem+json")


async def test_a_stop_gets_exactly_one_sms_the_confirmation_carrying_the_receipt_link(
    client: Client, provider: Provider, auth_headers: AuthHeaders, pool: asyncpg.Pool
) -> None:
    service, staff = await auth_headers("service"), await auth_headers("staff")
    offers = await program(client, staff, ["sms"])
    number = pii.phone()
    person = await contact(client, service, "sms", number)
    promo = {"contact_id": person, "optin_id": offers, "kind": "promotional", "variables": {"message": "Hi"}}
    assert (await send(client, service, "/v1/messages/send_with_consent", **promo)).status_code == 202
    await texts(provider, number, 1)
    await reply(client, number, "YES", "SMyes")  # an opt-in by keyword: its one reply has the link
    subscribed = (await texts(provider, number, 2))[-1]["Body"]
    assert "subscribed" in subscribed and LINK.search(subscribed), subscribed
    await settled(pool)
    assert len(provider.to(number)) == 2

    await reply(client, number, "STOP", "SMstop")
    await settled(pool)
    sent = provider.to(number)
    assert len(sent) == 3, [m["Body"] for m in sent]  # the confirmation, and nothing else
    confirmation = sent[-1]["Body"]
    assert "unsubscribed" in confirmation
    link = LINK.search(confirmation)
    assert link, confirmation
    (receipt,) = await served(client, link.group(1))
    assert receipt["event"] == "consent.withdrawn"
    claims = receipt["receipt"]
    assert isinstance(claims, dict)
    assert claims["piiPrincipalId"] == person and claims["optinId"] == offers
    assert claims["collectionMethod"] == "SMS keyword reply from the phone"


async def test_an_opt_in_by_code_on_sms_gets_a_receipt_sms_with_a_short_link(
    client: Client, provider: Provider, auth_headers: AuthHeaders, pool: asyncpg.Pool
) -> None:
    staff = await auth_headers("staff")
    offers = await program(client, staff, ["sms"])
    number = pii.phone()
    person = await contact(client, staff, "sms", number)
    verification = await ask(client, staff, offers, person)
    (invite,) = await texts(provider, number, 1)
    code = re.search(r"\b(\d{6})\b", invite["Body"])
    assert code
    await confirm(client, verification, code.group(1))
    receipt_sms = (await texts(provider, number, 2))[-1]["Body"]
    link = LINK.search(receipt_sms)
    assert link and "opted in to" in receipt_sms, receipt_sms
    (receipt,) = await served(client, link.group(1))
    assert receipt["event"] == "consent.granted"
    await settled(pool)
    assert len(provider.to(number)) == 2


async def test_a_one_click_unsubscribe_gets_a_receipt_email(
    client: Client, mailbox: Mailbox, auth_headers: AuthHeaders, pool: asyncpg.Pool
) -> None:
    staff = await auth_headers("staff")
    optin, person, address = await opted_in_by_email(client, mailbox, staff)
    assert len(receipts_in(await arrived(mailbox, address, 2))) == 1
    queued = await send(client, staff, contact_id=person, optin_id=optin, kind="promotional",
                        variables={"subject": "Deals", "message": "20% off"})  # fmt: skip
    assert queued.status_code == 202, queued.text
    promo = next(m for m in await arrived(mailbox, address, 3) if m["Subject"] == "Deals")
    one_click = re.findall(r"<([^>]+)>", promo["List-Unsubscribe"])[0].removeprefix(PUBLIC)
    done = await client.post(one_click, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200, done.text

    async def withdrawal_receipt() -> EmailMessage | None:
        found = [m for m in receipts_in(mailbox.to(address)) if "opted out of" in text_of(m)]
        return found[0] if found else None

    mail = await eventually(withdrawal_receipt)
    link = LINK.search(text_of(mail))
    assert link
    (receipt,) = await served(client, link.group(1))
    assert receipt["event"] == "consent.withdrawn"
    claims = receipt["receipt"]
    assert isinstance(claims, dict)
    assert claims["collectionMethod"] == "one-click unsubscribe link in an email"
    await settled(pool)
    assert len(receipts_in(mailbox.to(address))) == 2


async def test_a_follower_that_runs_again_sends_nothing_twice(
    client: Client, mailbox: Mailbox, auth_headers: AuthHeaders, pool: asyncpg.Pool
) -> None:
    staff = await auth_headers("staff")
    _, _, address = await opted_in_by_email(client, mailbox, staff)
    await arrived(mailbox, address, 2)
    await settled(pool)
    messages = await pool.fetchval("SELECT count(*) FROM events WHERE topic = 'message.requested'")
    # As if it crashed before recording any progress: it sees every consent event again.
    await pool.execute("UPDATE projection_tracking SET position = 0 WHERE name = 'consent_receipts'")
    await pool.execute("SELECT pg_notify('ledger_events', '')")
    await settled(pool)
    assert await pool.fetchval("SELECT count(*) FROM events WHERE topic = 'message.requested'") == messages
    assert len(mailbox.to(address)) == 2


@pytest.mark.parametrize("receipts_on", [False])  # the app sends, this test runs the follower
async def test_an_erased_contact_gets_no_receipt(
    client: Client,
    mailbox: Mailbox,
    auth_headers: AuthHeaders,
    as_admin: dict[str, str],
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    staff = await auth_headers("staff")
    _, erased, erased_address = await opted_in_by_email(client, mailbox, staff)
    _, kept, kept_address = await opted_in_by_email(client, mailbox, staff)
    gone = await client.delete(f"/v1/contacts/{erased}", headers=as_admin)
    assert gone.status_code == 200, gone.text
    parts = compose(msgspec.structs.replace(settings, receipts_email=True), pool)
    try:  # the follower meets two opt-ins: one of a contact erased since
        assert await ConsentReceiptFollower(pool, parts.consent_receipts.deliver).catch_up() == 2
    finally:
        await parts.close()
    (receipt,) = receipts_in(await arrived(mailbox, kept_address, 2))
    assert LINK.search(text_of(receipt))
    await settled(pool, follower=False)
    assert len(mailbox.to(erased_address)) == 1  # the invite, before the erasure; no receipt
    kinds = await pool.fetch("SELECT contact_id FROM messages WHERE kind = 'consent_receipt'")
    assert [r["contact_id"] for r in kinds] == [UUID(kept)]
