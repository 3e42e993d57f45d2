"""SMS against a real HTTP server speaking the Twilio Messages API, and signed webhooks.

Sends carry the message id as idempotency key; a 500 is retried, N failures dead-letter, a lost
answer never makes two messages; STOP opts the number out of everything and START gives it back;
a bad signature is refused and changes nothing; a blocked send never reaches the provider.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from prometheus_client import REGISTRY

from adapters.settings import Settings
from adapters.sms.signature import twilio_signature
from tests import pii
from tests.api.channels import Client, contact, eventually, message, program, send
from tests.api.conftest import AuthHeaders
from tests.fakes.twilio import NUMBER, SID, TOKEN, Provider, twilio_server

pytestmark = pytest.mark.integration
PUBLIC = "https://optin.example.org"
UNKNOWN = "optin_sms_receipts_unknown_total"


@pytest.fixture
def provider_and_url() -> Iterator[tuple[Provider, str]]:
    yield from twilio_server()


@pytest.fixture
def provider(provider_and_url: tuple[Provider, str]) -> Provider:
    return provider_and_url[0]


@pytest.fixture
def settings(settings: Settings, provider_and_url: tuple[Provider, str]) -> Settings:
    return msgspec.structs.replace(
        settings,
        sms_api_url=provider_and_url[1],
        sms_account_sid=SID,
        sms_auth_token=TOKEN,
        sms_from=NUMBER,
        public_url=PUBLIC,
        send_retry_seconds=0.05,
        send_max_attempts=3,
        sender_name="Corner Shop",
        sender_contact="help@shop.example.org",
    )


async def webhook(client: Client, path: str, params: dict[str, str], *, token: str = TOKEN) -> Any:
    signature = twilio_signature(token, PUBLIC + path, params)
    return await client.post(path, data=params, headers={"X-Twilio-Signature": signature})


async def reply(client: Client, number: str, body: str, sid: str) -> Any:
    params = {"AccountSid": SID, "MessageSid": sid, "From": number, "To": NUMBER, "Body": body}
    answered = await webhook(client, "/v1/webhooks/sms/inbound", params)
    assert answered.status_code == 200, answered.text
    assert answered.headers["content-type"].startswith("text/xml")
    return answered


async def status(client: Client, h: dict[str, str], optin: str, person: str) -> str:
    head = (await client.get("/ready")).json()["ledger_position"]
    got = await client.get(
        "/v1/consent",
        params={"optin_id": optin, "channel": "sms", "contact_id": person, "min_position": head},
        headers=h,
    )
    return str(got.json()["status"])


async def orders_by_sms(client: Client, auth_headers: AuthHeaders) -> tuple[dict[str, str], str, str, str]:
    """A staff caller, a transactional SMS program, and a new contact's number and id."""
    staff = await auth_headers("staff")
    orders = await program(client, staff, ["sms"], purpose="transactional", name="Orders")
    number = pii.phone()
    return staff, orders, number, await contact(client, staff, "sms", number)


async def texts(provider: Provider, number: str, count: int) -> list[dict[str, str]]:
    async def probe() -> list[dict[str, str]] | None:
        found = provider.to(number)
        return found if len(found) >= count else None

    return await eventually(probe)


async def test_a_send_retries_after_a_500_with_the_message_id_as_idempotency_key(
    client: Client, provider: Provider, auth_headers: AuthHeaders
) -> None:
    staff, orders, number, person = await orders_by_sms(client, auth_headers)
    provider.fail_next = 1
    queued = await send(client, staff, contact_id=person, optin_id=orders, kind="transactional",
                        variables={"message": "Your parcel ships today."})  # fmt: skip
    assert queued.status_code == 202, queued.text
    message_id = queued.json()["message_id"]
    sent = await message(client, staff, message_id, "sent")
    assert [e["topic"] for e in sent["events"]] == [
        "message.requested", "message.queued", "message.failed", "message.sent",
    ]  # fmt: skip
    calls = provider.requests_for(message_id)
    assert len(calls) == 2
    form = calls[-1]["form"]
    assert (form["To"], form["From"], form["Body"]) == (number, NUMBER, "Your parcel ships today.")
    assert form["StatusCallback"] == f"{PUBLIC}/v1/webhooks/sms/status?message_id={message_id}"
    (accepted,) = provider.to(number)
    assert sent["message"]["provider_id"] == accepted["sid"]
    assert sent["message"]["sms"] == {"encoding": "GSM-7", "characters": 24, "units": 24, "segments": 1}

    receipt = {"AccountSid": SID, "MessageSid": accepted["sid"], "MessageStatus": "delivered"}
    delivered = await webhook(client, f"/v1/webhooks/sms/status?message_id={message_id}", receipt)
    assert delivered.status_code == 204, delivered.text
    await message(client, staff, message_id, "delivered")


async def test_failures_dead_letter_after_n_attempts_and_a_lost_answer_sends_once(
    client: Client, provider: Provider, auth_headers: AuthHeaders
) -> None:
    staff, orders, number, person = await orders_by_sms(client, auth_headers)
    body = {"contact_id": person, "optin_id": orders, "kind": "transactional", "variables": {"message": "Hi"}}
    provider.fail_next = 10
    doomed = await send(client, staff, **body)
    dead = await message(client, staff, doomed.json()["message_id"], "dead_lettered")
    assert dead["message"]["attempts"] == 3
    assert len(provider.requests_for(doomed.json()["message_id"])) == 3
    assert provider.to(number) == []

    provider.fail_next, provider.lose_answer_next = 0, 2
    lucky = await send(client, staff, **body)
    message_id = lucky.json()["message_id"]
    sent = await message(client, staff, message_id, "sent")
    assert len(provider.requests_for(message_id)) == 3  # two answers lost, so three attempts …
    (only,) = provider.to(number)  # … and still one message at the provider
    assert sent["message"]["provider_id"] == only["sid"]


async def test_stop_opts_the_number_out_of_everything_and_start_gives_it_back(
    client: Client, provider: Provider, auth_headers: AuthHeaders
) -> None:
    service, staff = await auth_headers("service"), await auth_headers("staff")
    offers = await program(client, staff, ["sms"])
    orders = await program(client, staff, ["sms"], purpose="transactional", name="Orders")
    number = pii.phone()
    person = await contact(client, service, "sms", number)
    promo = {
        "contact_id": person,
        "optin_id": offers,
        "kind": "promotional",
        "variables": {"message": "Sale!"},
    }
    invited = await send(client, service, "/v1/messages/send_with_consent", **promo)
    assert invited.json()["status"] == "diverted", invited.text
    (invite,) = await texts(provider, number, 1)
    assert "reply YES" in invite["Body"] and "STOP" in invite["Body"]
    await reply(client, number, "Yes", "SMin1")
    assert await status(client, staff, offers, person) == "opted_in"  # the reply proves the number
    assert (await send(client, service, **promo)).status_code == 202
    await texts(provider, number, 3)  # the sale, and the START family's confirmation

    await reply(client, number, " stop ", "SMin2")
    assert await status(client, staff, offers, person) == "opted_out"
    assert await status(client, staff, orders, person) == "opted_out"
    checked = await client.post(
        "/v1/consent/check",
        json={"items": [{"optin_id": p, "channel": "sms", "address": number} for p in (offers, orders)]},
        headers=service,
    )
    assert [(r["status"], r["contact_id"]) for r in checked.json()] == [("opted_out", person)] * 2
    confirmation = (await texts(provider, number, 4))[-1]
    assert "unsubscribed" in confirmation["Body"]
    await reply(client, number, "STOP", "SMin3")  # again: no second confirmation
    before = len(provider.requests)
    blocked = await send(client, service, contact_id=person, optin_id=orders, kind="transactional",
                         variables={"message": "Your parcel ships."})  # fmt: skip
    assert blocked.status_code == 409 and blocked.json()["reason"] == "channel_opted_out"
    assert (await send(client, service, **promo)).json()["reason"] == "channel_opted_out"
    await reply(client, number, "START", "SMin4")
    assert await status(client, staff, offers, person) == "opted_in"  # given back what STOP took
    assert await status(client, staff, orders, person) == "unknown"
    resubscribed = (await texts(provider, number, 5))[-1]
    assert "Weekly offers" in resubscribed["Body"]
    assert all(r["form"].get("Body") != "Your parcel ships." for r in provider.requests[before:])


async def test_a_bad_signature_is_refused_and_changes_nothing(
    client: Client, provider: Provider, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    offers = await program(client, staff, ["sms"])
    number = pii.phone()
    person = await contact(client, staff, "sms", number)
    head = (await client.get("/ready")).json()["ledger_position"]
    params = {"AccountSid": SID, "MessageSid": "SMbad", "From": number, "To": NUMBER, "Body": "STOP"}
    forged = await webhook(client, "/v1/webhooks/sms/inbound", params, token="not-the-token")
    assert forged.status_code == 403
    unsigned = await client.post("/v1/webhooks/sms/inbound", data=params)
    assert unsigned.status_code == 403
    tampered = await client.post(
        "/v1/webhooks/sms/inbound",
        data={**params, "From": pii.phone()},
        headers={"X-Twilio-Signature": twilio_signature(TOKEN, PUBLIC + "/v1/webhooks/sms/inbound", params)},
    )
    assert tampered.status_code == 403
    assert (await client.get("/ready")).json()["ledger_position"] == head  # nothing recorded
    assert await status(client, staff, offers, person) == "unknown"
    helped = await reply(client, number, "help", "SMhelp")
    assert helped.status_code == 200
    (text,) = await texts(provider, number, 1)
    assert "STOP" in text["Body"] and "START" in text["Body"]


async def test_a_blocked_send_never_reaches_the_provider(
    client: Client, provider: Provider, auth_headers: AuthHeaders
) -> None:
    service, staff = await auth_headers("service"), await auth_headers("staff")
    offers = await program(client, staff, ["sms"])
    number = pii.phone()
    person = await contact(client, service, "sms", number)
    blocked = await send(client, service, contact_id=person, optin_id=offers, kind="promotional",
                         variables={"message": "Sale!"})  # fmt: skip
    assert blocked.status_code == 409 and blocked.json()["reason"] == "no_consent"
    record = await message(client, staff, blocked.json()["message_id"], "blocked")
    assert [e["topic"] for e in record["events"]] == ["message.requested", "message.blocked"]
    assert provider.requests_for(blocked.json()["message_id"]) == []
    assert provider.requests == []


async def test_a_receipt_that_beats_the_senders_answer_waits_for_it_and_counts(
    client: Client, provider: Provider, auth_headers: AuthHeaders
) -> None:
    staff, orders, number, person = await orders_by_sms(client, auth_headers)
    provider.answer_delay = 0.8  # the provider takes the message, then is slow to say so
    queued = await send(client, staff, contact_id=person, optin_id=orders, kind="transactional",
                        variables={"message": "Your parcel ships today."})  # fmt: skip
    message_id = queued.json()["message_id"]
    (accepted,) = await texts(provider, number, 1)  # taken, not yet answered
    receipt = {"AccountSid": SID, "MessageSid": accepted["sid"], "MessageStatus": "delivered"}
    early = await webhook(client, f"/v1/webhooks/sms/status?message_id={message_id}", receipt)
    assert early.status_code == 204, early.text
    delivered = await message(client, staff, message_id, "delivered")
    assert [e["topic"] for e in delivered["events"]][-2:] == ["message.sent", "message.delivered"]


async def test_after_stop_live_as_of_bulk_and_send_give_one_answer(
    client: Client, provider: Provider, auth_headers: AuthHeaders
) -> None:
    """Issue 12's scenario: a STOP from a number that never answered a program. The live read,
    the replay as of a moment later, the bulk check and the send decision are one decision."""
    staff, service = await auth_headers("staff"), await auth_headers("service")
    offers = await program(client, staff, ["sms"])
    number = pii.phone()
    person = await contact(client, staff, "sms", number)
    await reply(client, number, "STOP", "SMscenario")
    head = (await client.get("/ready")).json()["ledger_position"]
    query = {"optin_id": offers, "channel": "sms", "contact_id": person, "min_position": head}
    live = (await client.get("/v1/consent", params=query, headers=staff)).json()
    assert live["status"] == "opted_out" and live["event_topic"] == "channel.opted_out", live
    later = (
        await client.get("/v1/consent", params={**query, "as_of": "2999-01-01T00:00:00Z"}, headers=staff)
    ).json()
    assert later == live
    before = (
        await client.get("/v1/consent", params={**query, "as_of": "2000-01-01T00:00:00Z"}, headers=staff)
    ).json()
    assert before["status"] == "unknown"
    bulk = await client.post(
        "/v1/consent/check",
        json={"items": [{"optin_id": offers, "channel": "sms", "address": number}]},
        headers=service,
    )
    (row,) = bulk.json()
    assert (row["status"], row["since"], row["event_id"]) == (live["status"], live["since"], live["event_id"])
    for kind in ("promotional", "transactional"):
        refused = await send(
            client, service, contact_id=person, optin_id=offers, kind=kind, variables={"message": "Hi"}
        )
        assert refused.status_code == 409 and refused.json()["reason"] == "channel_opted_out", refused.text


async def test_help_names_the_sender_and_how_to_reach_it(client: Client, provider: Provider) -> None:
    number = pii.phone()
    await reply(client, number, "HELP", "SMhelp-ctia")
    (text,) = await texts(provider, number, 1)
    assert text["Body"] == (
        "Corner Shop: Reply STOP to unsubscribe, START to resubscribe. Msg&data rates may apply. "
        "Help: help@shop.example.org"
    )


def log_events(output: io.StringIO, name: str) -> list[dict[str, Any]]:
    lines = output.getvalue().splitlines()
    return [json.loads(line) for line in lines if f'"{name}"' in line]


async def test_receipts_for_no_message_of_ours_are_logged_to_be_counted_and_change_nothing(
    client: Client, provider: Provider, auth_headers: AuthHeaders, log_output: io.StringIO
) -> None:
    staff, orders, _, person = await orders_by_sms(client, auth_headers)
    queued = await send(client, staff, contact_id=person, optin_id=orders, kind="transactional",
                        variables={"message": "Your parcel ships today."})  # fmt: skip
    message_id = queued.json()["message_id"]
    await message(client, staff, message_id, "sent")
    before = len(log_events(log_output, "sms.receipt_unknown"))
    reasons = ("no_message_id", "unknown_message", "unknown_message_sid")
    counted = {r: REGISTRY.get_sample_value(UNKNOWN, {"reason": r}) or 0.0 for r in reasons}
    stranger = uuid.uuid4()
    for path, sid in [
        ("/v1/webhooks/sms/status", "SMnoid"),
        (f"/v1/webhooks/sms/status?message_id={stranger}", "SMstranger"),
        (f"/v1/webhooks/sms/status?message_id={message_id}", "SMnotours"),
    ]:
        receipt = {"AccountSid": SID, "MessageSid": sid, "MessageStatus": "delivered"}
        answered = await webhook(client, path, receipt)
        assert answered.status_code == 204, answered.text  # acknowledged: the provider need not retry
    logged = log_events(log_output, "sms.receipt_unknown")[before:]
    assert [(e["reason"], e["message_sid"]) for e in logged] == [
        ("no_message_id", "SMnoid"), ("unknown_message", "SMstranger"), ("unknown_message_sid", "SMnotours"),
    ]  # fmt: skip
    assert logged[1]["message_id"] == str(stranger) and logged[0]["level"] == "warning"
    for reason in reasons:  # and counted, for the metrics endpoint
        assert REGISTRY.get_sample_value(UNKNOWN, {"reason": reason}) == counted[reason] + 1
    still = await message(client, staff, message_id, "sent")
    assert [e["topic"] for e in still["events"]][-1] == "message.sent"


async def test_the_providers_own_opt_out_refusal_21610_is_final_and_named(
    client: Client, provider: Provider, auth_headers: AuthHeaders, log_output: io.StringIO
) -> None:
    staff, orders, number, person = await orders_by_sms(client, auth_headers)
    provider.refuse_next = [(400, {
        "code": 21610, "status": 400,
        "message": f"Attempt to send to unsubscribed recipient {number}",
    })]  # fmt: skip
    queued = await send(client, staff, contact_id=person, optin_id=orders, kind="transactional",
                        variables={"message": "Your parcel ships today."})  # fmt: skip
    dead = await message(client, staff, queued.json()["message_id"], "dead_lettered")
    assert dead["message"]["reason"] == "recipient_opted_out 21610" and dead["message"]["attempts"] == 1
    (logged,) = [
        e for e in log_events(log_output, "sms.send_failed") if e["message_id"] == queued.json()["message_id"]
    ]
    assert logged["category"] == "recipient_opted_out" and logged["permanent"] is True
    assert logged["detail"].startswith("SMS API answered 400 (error 21610: Attempt to send to unsubscribed")
    assert number[-7:] not in logged["detail"]
