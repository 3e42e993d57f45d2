"""Email feedback end to end: real DSN and ARF messages, built with the `email` package, delivered over
SMTP to the service's listener (aiosmtplib) and over HTTP to the webhook; mailto unsubscribes;
forged reports that must change nothing."""

from __future__ import annotations

import re
import ssl
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import msgspec
import pytest
import trustme
from litestar.testing import AsyncTestClient

from adapters.email.feedback.settings import FeedbackSettings
from adapters.settings import Settings
from api.app import create_app
from tests import pii
from tests.api.channels import Client, eventually, program, send
from tests.api.conftest import AuthHeaders
from tests.api.test_email_channel import PUBLIC, arrived, consent_status, opted_in_by_email
from tests.fakes.smtp import PASSWORD, USERNAME, Mailbox, smtp_server
from tests.feedback_mail import arf, as_delivered, deliver, dsn, reply

pytestmark = pytest.mark.integration
BOUNCES = "bounces@shop.example.org"
UNSUBSCRIBE = "unsubscribe@shop.example.org"


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
        email_feedback=FeedbackSettings(inbound_smtp_port=0, bounce_address=BOUNCES),
        receipts_email=False,  # each mail counted here is one the test sent (receipts: their own tests)
    )


def listener_port(client: Client) -> int:
    port: int = client.app.state.email_feedback.listener.port
    return port


async def marketing_mail(
    client: Client, mailbox: Mailbox, staff: dict[str, str]
) -> tuple[str, str, str, Any]:
    """An opted-in contact and the promotional mail that reached them, with its envelope sender."""
    optin, person, address = await opted_in_by_email(client, mailbox, staff)
    queued = await send(client, staff, contact_id=person, optin_id=optin, kind="promotional",
                        variables={"subject": "Deals", "message": "10% off"})  # fmt: skip
    assert queued.status_code == 202, queued.text
    mail = (await arrived(mailbox, address, 2))[-1]
    envelope = mailbox.senders[mailbox.received.index(mail)]
    return optin, person, address, (mail, envelope)


async def post_raw(client: Client, headers: dict[str, str], message: Any) -> Any:
    return await client.post(
        "/v1/webhooks/email/feedback",
        content=message.as_bytes(),
        headers={**headers, "Content-Type": "message/rfc822"},
    )


async def timeline(client: Client, staff: dict[str, str], person: str, position: int | str) -> list[Any]:
    got = await client.get(
        f"/v1/contacts/{person}/timeline", params={"min_position": str(position)}, headers=staff
    )
    assert got.status_code == 200, got.text
    entries: list[Any] = got.json()["items"]
    return entries


async def test_every_email_names_its_message_in_a_signed_return_path(
    client: Client, mailbox: Mailbox, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    _, _, _, (mail, envelope) = await marketing_mail(client, mailbox, staff)
    assert re.fullmatch(r"bounces\+[a-z2-7]{42}@shop\.example\.org", envelope)
    paths = client.app.state.email_feedback.intake.paths
    message_id = str(mail["Message-ID"]).strip("<>").partition("@")[0]
    assert str(paths.message_of(envelope)) == message_id
    assert mail["X-PM-Metadata-optin-feedback"] == envelope.partition("+")[2].partition("@")[0]


@pytest.mark.parametrize("transport", ["smtp", "http"])
async def test_a_hard_bounce_suppresses_the_address_and_nothing_more_is_sent(
    transport: str, client: Client, mailbox: Mailbox, auth_headers: AuthHeaders
) -> None:
    staff, service = await auth_headers("staff"), await auth_headers("service")
    optin, person, address, (mail, envelope) = await marketing_mail(client, mailbox, staff)
    bounce = dsn(to=envelope, original=mail, final_recipient=address)
    if transport == "smtp":
        await deliver(bounce, port=listener_port(client), sender="", recipient=envelope)
        events = await _until_topic(client, staff, person, "channel.opted_out")
    else:
        answer = await post_raw(client, service, bounce)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"changed": True, "contact_id": person}
        events = await timeline(client, staff, person, answer.headers["ledger-position"])
    suppressed = next(e for e in events if e["topic"] == "channel.opted_out")
    assert suppressed["details"]["evidence"]["source"] == "bounce"
    assert suppressed["details"]["evidence"]["status_code"] == "5.1.1"
    bounced = next(e for e in events if e["topic"] == "mailbox.bounced")
    assert bounced["details"]["kind"] == "hard" and bounced["details"]["via"] == transport.replace(
        "http", "webhook"
    )
    assert address not in str(events)  # the diagnostic is sealed, not copied
    assert await consent_status(client, staff, optin, person, str(suppressed["position"])) == "opted_out"
    again = await send(client, staff, contact_id=person, optin_id=optin, kind="promotional",
                       variables={"subject": "More", "message": "20% off"})  # fmt: skip
    assert again.status_code == 409 and again.json()["reason"] == "channel_opted_out"
    orders = await program(client, staff, ["email"], purpose="transactional", name="Orders")
    receipt = await send(client, staff, contact_id=person, optin_id=orders, kind="transactional",
                         variables={"subject": "Receipt", "message": "Thanks"})  # fmt: skip
    assert receipt.status_code == 409 and receipt.json()["reason"] == "channel_opted_out"
    assert len(mailbox.to(address)) == 2  # the invite and the one that bounced


async def listed(client: Client, staff: dict[str, str], ids: set[str]) -> None:
    async def probe() -> bool:
        got = await client.get("/v1/optins", headers=staff)
        return ids <= {p["id"] for p in got.json()}

    await eventually(probe)


async def _until_topic(client: Client, staff: dict[str, str], person: str, topic: str) -> list[Any]:
    async def probe() -> list[Any] | None:
        got = await client.get(f"/v1/contacts/{person}/timeline", headers=staff)
        events: list[Any] = got.json()["items"]
        return events if any(e["topic"] == topic for e in events) else None

    return await eventually(probe)


@pytest.mark.parametrize("transport", ["smtp", "http"])
async def test_a_complaint_opts_out_of_marketing_but_transactional_mail_still_goes(
    transport: str, client: Client, mailbox: Mailbox, auth_headers: AuthHeaders
) -> None:
    staff, service = await auth_headers("staff"), await auth_headers("service")
    optin, person, address, (mail, envelope) = await marketing_mail(client, mailbox, staff)
    other = await program(client, staff, ["email"], name="Monthly news")
    orders = await program(client, staff, ["email"], purpose="transactional", name="Orders")
    await listed(client, staff, {optin, other, orders})  # the complaint reads the programs' read model
    report = arf(to=BOUNCES, original=as_delivered(mail, envelope))
    if transport == "smtp":
        await deliver(report, port=listener_port(client), sender="fbl@mailbox.example.net", recipient=BOUNCES)
        events = await _until_topic(client, staff, person, "mailbox.complained")
    else:
        answer = await post_raw(client, service, report)
        assert answer.status_code == 200 and answer.json()["changed"], answer.text
        events = await timeline(client, staff, person, answer.headers["ledger-position"])
    withdrawn = [e for e in events if e["topic"] == "consent.withdrawn"]
    assert {e["details"]["optin_id"] for e in withdrawn} == {optin, other}
    assert {e["details"]["evidence"]["source"] for e in withdrawn} == {"complaint"}
    position = str(max(e["position"] for e in events))
    assert await consent_status(client, staff, optin, person, position) == "opted_out"
    assert await consent_status(client, staff, other, person, position) == "opted_out"
    assert await consent_status(client, staff, orders, person, position) == "unknown"
    receipt = await send(client, staff, contact_id=person, optin_id=orders, kind="transactional",
                         variables={"subject": "Receipt", "message": "Thanks"})  # fmt: skip
    assert receipt.status_code == 202, receipt.text
    await arrived(mailbox, address, 3)


async def test_a_mailto_unsubscribe_from_the_contacts_own_address_opts_out(
    client: Client, mailbox: Mailbox, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    optin, person, address, (mail, _) = await marketing_mail(client, mailbox, staff)
    mailto = re.findall(r"<(mailto:[^>]+)>", mail["List-Unsubscribe"])[0]
    stranger = pii.email()
    forged = reply(mailto, sender=stranger)  # the token, but not from the contact's address
    await deliver(forged, port=listener_port(client), sender=stranger, recipient=UNSUBSCRIBE)
    genuine = reply(mailto, sender=address.upper())  # case does not make another address
    await deliver(genuine, port=listener_port(client), sender=address, recipient=UNSUBSCRIBE)
    events = await _until_topic(client, staff, person, "consent.withdrawn")
    withdrawn = [e for e in events if e["topic"] == "consent.withdrawn"]
    assert len(withdrawn) == 1 and withdrawn[0]["details"]["evidence"]["source"] == "email_reply"
    assert withdrawn[0]["details"]["optin_id"] == optin
    position = str(withdrawn[0]["position"])
    assert await consent_status(client, staff, optin, person, position) == "opted_out"


async def test_the_listener_takes_mail_only_for_its_own_mailboxes(
    client: Client, mailbox: Mailbox, auth_headers: AuthHeaders
) -> None:
    message = EmailMessage()
    message["From"], message["Subject"] = pii.email(), "hello"
    message.set_content("relay me")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await deliver(message, port=listener_port(client), sender="a@example.net", recipient=pii.email())


def tampered(envelope: str) -> str:
    """The return path with one character of its token's tag changed: the signature no longer verifies."""
    local, _, domain = envelope.partition("@")
    i = len(local) - 5
    return f"{local[:i]}{'a' if local[i] != 'a' else 'b'}{local[i + 1 :]}@{domain}"


async def test_forged_feedback_changes_nothing(
    client: Client, mailbox: Mailbox, auth_headers: AuthHeaders
) -> None:
    staff, service = await auth_headers("staff"), await auth_headers("service")
    optin, person, address, (mail, envelope) = await marketing_mail(client, mailbox, staff)
    port = listener_port(client)
    forged = tampered(envelope)
    # a bounce to a return path whose signature does not verify, over SMTP and over HTTP
    bounce = dsn(to=forged, original=mail, final_recipient=address)
    await deliver(bounce, port=port, sender="", recipient=forged)
    # the webhook's caller is authenticated, so our Message-ID counts there: one we never sent
    never_sent = as_delivered(mail, forged)
    never_sent.replace_header("Message-ID", f"<{uuid.uuid4()}@shop.example.org>")
    answer = await post_raw(client, service, dsn(to=forged, original=never_sent, final_recipient=address,
                                                 headers_only=True))  # fmt: skip
    assert answer.status_code == 200
    assert answer.json() == {"changed": False, "ignored": "not one of our email messages"}
    # over SMTP anyone may write: our Message-ID alone (no signed return path) names nothing there
    unsigned = dsn(to=BOUNCES, original=mail, final_recipient=address)
    await deliver(unsigned, port=port, sender="", recipient=BOUNCES)
    await deliver(arf(to=BOUNCES, original=mail), port=port, sender="fbl@example.net", recipient=BOUNCES)
    # the address in a report is never trusted, however it is written
    await deliver(reply(f"mailto:{UNSUBSCRIBE}?subject=unsubscribe", sender=address), port=port,
                  sender=address, recipient=UNSUBSCRIBE)  # fmt: skip
    position = answer.headers["ledger-position"]
    assert await consent_status(client, staff, optin, person, position) == "opted_in"
    events = await timeline(client, staff, person, position)
    assert not [e for e in events if e["topic"].startswith(("mailbox.", "channel.")) or
                e["topic"] == "consent.withdrawn"]  # fmt: skip
    again = await send(client, staff, contact_id=person, optin_id=optin, kind="promotional",
                       variables={"subject": "Still here", "message": "Hello"})  # fmt: skip
    assert again.status_code == 202, again.text


async def test_the_raw_webhook_wants_a_message_and_a_service_key(
    client: Client, auth_headers: AuthHeaders
) -> None:
    service = await auth_headers("service")
    anonymous = await client.post("/v1/webhooks/email/feedback", content=b"x",
                                  headers={"Content-Type": "message/rfc822"})  # fmt: skip
    assert anonymous.status_code == 401
    as_json = await client.post("/v1/webhooks/email/feedback", json={"a": 1}, headers=service)
    assert as_json.status_code == 415
    assert as_json.headers["content-type"].startswith("application/problem+json")
    empty = await client.post("/v1/webhooks/email/feedback", content=b"  ",
                              headers={**service, "Content-Type": "message/rfc822"})  # fmt: skip
    assert empty.status_code == 400
    garbage = await client.post("/v1/webhooks/email/feedback", content=bytes(range(256)) * 10,
                                headers={**service, "Content-Type": "message/rfc822"})  # fmt: skip
    assert garbage.status_code == 200 and garbage.json()["changed"] is False


@pytest.fixture
def tls_settings(settings: Settings, tmp_path: Path) -> Settings:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    issued = ca.issue_cert("127.0.0.1")
    issued.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    issued.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    feedback = msgspec.structs.replace(
        settings.email_feedback,
        inbound_smtp_tls_cert=str(tmp_path / "cert.pem"),
        inbound_smtp_tls_key=str(tmp_path / "key.pem"),
    )
    return msgspec.structs.replace(settings, email_feedback=feedback)


async def test_the_listener_offers_starttls_when_given_a_certificate(
    tls_settings: Settings, tmp_path: Path, mailbox: Mailbox, auth_headers: AuthHeaders
) -> None:
    async with AsyncTestClient(create_app(tls_settings)) as client:
        staff = await auth_headers("staff")
        _, person, address, (mail, envelope) = await marketing_mail(client, mailbox, staff)
        bounce = dsn(to=envelope, original=mail, final_recipient=address)
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=listener_port(client), tls_context=context,
                               start_tls=True, timeout=10)  # fmt: skip
        async with smtp:
            assert smtp.get_transport_info("sslcontext") is not None  # the session is encrypted
            await smtp.send_message(bounce, sender="", recipients=[envelope])
        events = await _until_topic(client, staff, person, "channel.opted_out")
        assert any(e["topic"] == "mailbox.bounced" for e in events)
