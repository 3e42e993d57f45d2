"""Sending over HTTP with the dev sender: consent at send time, idempotency, invites, masking."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.postgres.dev_outbox import dev_messages
from adapters.settings import Settings
from tests import pii
from tests.api.channels import Client, ask, confirm, contact, message, program, send
from tests.api.conftest import AuthHeaders
from tests.codes import latest_code

pytestmark = pytest.mark.integration


async def opened(pool: asyncpg.Pool, settings: Settings, contact_id: str, kind: str) -> list[str]:
    """Bodies the dev sender took for the contact, opened with the contact's key."""
    assert settings.kek and settings.index_key
    rows = [r for r in await dev_messages(pool) if str(r["contact_id"]) == contact_id and r["kind"] == kind]
    key = await PostgresDataKeys(pool, settings.kek).get(rows[0]["contact_id"]) if rows else None
    return [NaclSealer(settings.index_key).open(key, r["sealed_body"]) or "" for r in rows]


async def test_marketing_needs_an_opt_in_and_the_send_names_the_consent_it_relied_on(
    client: Client, pool: asyncpg.Pool, settings: Settings, auth_headers: AuthHeaders
) -> None:
    assert settings.kek and settings.index_key
    service, staff = await auth_headers("service"), await auth_headers("staff")
    optin = await program(client, staff, ["email"])
    person = await contact(client, service, "email", pii.email())
    body = {"contact_id": person, "optin_id": optin, "kind": "promotional",
            "variables": {"subject": "Deals", "message": "<b>50%</b> off"}}  # fmt: skip
    blocked = await send(client, service, **body)
    assert blocked.status_code == 409, blocked.text
    assert blocked.json()["reason"] == "no_consent"
    granted_at = await confirm(
        client, await ask(client, staff, optin, person),
        await latest_code(pool, settings.kek, settings.index_key, person),
    )  # fmt: skip
    queued = await send(client, service, **body)
    assert queued.status_code == 202, queued.text
    assert queued.json()["basis"] == {
        "rule": "marketing_consent", "consent_position": granted_at, "consent_topic": "consent.granted",
    }  # fmt: skip
    sent = await message(client, staff, queued.json()["message_id"], "sent")
    assert [e["topic"] for e in sent["events"]] == ["message.requested", "message.queued", "message.sent"]
    assert "[message]" in sent["message"]["preview"] and "50%" not in sent["message"]["preview"]
    bodies = await opened(pool, settings, person, "promotional")
    assert bodies and "<b>50%</b> off" in bodies[0]  # the text part of the email
    blocked_record = await message(client, staff, blocked.json()["message_id"], "blocked")
    assert blocked_record["message"]["reason"] == "no_consent"
    head = (await client.get("/ready")).json()["ledger_position"]
    timeline = await client.get(
        f"/v1/contacts/{person}/timeline", params={"min_position": head}, headers=staff
    )
    entries = [e for e in timeline.json()["items"] if e["topic"].startswith("message.")]
    assert [e["topic"] for e in entries][:2] == ["message.requested", "message.blocked"]
    assert all("sealed" not in e["details"] and "50%" not in str(e) for e in entries)


async def test_html_in_a_variable_is_escaped_in_the_email(
    client: Client, pool: asyncpg.Pool, settings: Settings, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    optin = await program(client, staff, ["email"], purpose="transactional")
    person = await contact(client, staff, "email", pii.email())
    made = await client.post(
        "/v1/templates",
        json={"name": "Receipt", "kind": "transactional", "channel": "email", "subject": "Receipt",
              "body": "<p>Thanks {{ name }}</p>"},
        headers=staff,
    )  # fmt: skip
    template = made.json()["id"]
    queued = await send(
        client, staff, contact_id=person, optin_id=optin, template_id=template,
        variables={"name": '<img src="x" onerror="alert(1)">'},
    )  # fmt: skip
    assert queued.status_code == 202, queued.text
    await message(client, staff, queued.json()["message_id"], "sent")
    rows = [r for r in await dev_messages(pool) if str(r["contact_id"]) == person]
    assert rows  # the dev outbox keeps the text part; the HTML part is checked over SMTP too
    missing = await send(client, staff, contact_id=person, optin_id=optin, template_id=template)
    assert missing.status_code == 422
    assert "name" in missing.json()["detail"]


async def test_transactional_needs_no_consent_and_retries_with_one_key_send_once(
    client: Client, pool: asyncpg.Pool, settings: Settings, auth_headers: AuthHeaders
) -> None:
    service, staff = await auth_headers("service"), await auth_headers("staff")
    optin = await program(client, staff, ["sms"], purpose="transactional", name="Orders")
    person = await contact(client, service, "sms", pii.phone())
    body = {"contact_id": person, "optin_id": optin, "kind": "transactional",
            "variables": {"message": "Your parcel ships today."},
            "idempotency_key": "order-42-shipped"}  # fmt: skip
    first = await send(client, service, **body)
    again = await send(client, service, **body)
    assert first.status_code == again.status_code == 202, first.text
    assert again.json()["message_id"] == first.json()["message_id"]
    assert again.json()["replayed"] is True
    await message(client, staff, first.json()["message_id"], "sent")
    assert await opened(pool, settings, person, "transactional") == ["Your parcel ships today."]
    other = await send(
        client, service, **{**body, "contact_id": await contact(client, service, "sms", pii.phone())}
    )
    assert other.status_code == 409  # the key was used for another message


async def test_send_with_consent_invites_the_unknown_and_blocks_the_opted_out(
    client: Client, pool: asyncpg.Pool, settings: Settings, auth_headers: AuthHeaders
) -> None:
    assert settings.kek and settings.index_key
    service, staff = await auth_headers("service"), await auth_headers("staff")
    optin = await program(client, staff, ["email"])
    person = await contact(client, service, "email", pii.email())
    body = {"contact_id": person, "optin_id": optin, "kind": "promotional",
            "variables": {"subject": "Deals", "message": "Half price"}}  # fmt: skip
    invited = await send(client, service, "/v1/messages/send_with_consent", **body)
    assert invited.status_code == 202, invited.text
    assert invited.json()["status"] == "diverted"
    code = await latest_code(pool, settings.kek, settings.index_key, person)
    invite = (await opened(pool, settings, person, "optin_invite"))[0]
    assert code in invite and "Weekly offers" in invite
    pending = await send(client, service, "/v1/messages/send_with_consent", **body)
    assert pending.status_code == 409 and pending.json()["reason"] == "consent_pending"
    await confirm(client, invited.json()["verification_id"], code)
    sent = await send(client, service, "/v1/messages/send_with_consent", **body)
    assert sent.status_code == 202 and sent.json()["status"] == "queued"


async def test_unknown_bodies_and_ids_get_problems_not_errors(
    client: Client, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    optin = await program(client, staff, ["email"])
    person = await contact(client, staff, "email", pii.email())
    cases: list[tuple[dict[str, Any], int]] = [
        ({"contact_id": person, "optin_id": optin}, 422),  # neither kind nor template
        ({"contact_id": person, "optin_id": optin, "kind": "verification_code"}, 422),
        ({"contact_id": person, "optin_id": optin, "kind": "promotional", "variables": {"code": "1"}}, 422),
        ({"contact_id": person, "optin_id": optin, "kind": "nope"}, 422),
        ({"contact_id": person, "optin_id": "not-a-uuid", "kind": "promotional"}, 422),
        ({"contact_id": person, "optin_id": person, "kind": "promotional"}, 404),
        ({"contact_id": optin, "optin_id": optin, "kind": "promotional"}, 404),
        ({"contact_id": person, "optin_id": optin, "kind": "promotional", "idempotency_key": "a b"}, 422),
    ]
    for body, status in cases:
        got = await send(client, staff, **body)
        assert got.status_code == status, (body, got.text)
    assert (await client.get(f"/v1/messages/{optin}", headers=staff)).status_code == 404
    head = (await client.get("/ready")).json()["ledger_position"]
    listed = await client.get(
        "/v1/messages", params={"contact_id": person, "min_position": head}, headers=staff
    )
    assert listed.json()["items"] == []  # a refused request leaves no trace


async def test_message_bodies_are_sealed_and_go_with_an_erased_contact(
    client: Client, pool: asyncpg.Pool, settings: Settings, auth_headers: AuthHeaders
) -> None:
    staff, admin = await auth_headers("staff"), await auth_headers("admin")
    orders = await program(client, staff, ["email"], purpose="transactional", name="Orders")
    address = pii.email()
    person = await contact(client, staff, "email", address)
    secret = "Order 7731 for Ms Example, 12 Elm Street"
    queued = await send(client, staff, contact_id=person, optin_id=orders, kind="transactional",
                        variables={"subject": "Your order", "message": secret})  # fmt: skip
    message_id = queued.json()["message_id"]
    shown = await message(client, staff, message_id, "sent")
    assert secret not in str(shown)  # staff see the masked preview only
    for needle in (secret, address):
        found = await pool.fetchval(
            "SELECT count(*) FROM events WHERE position($1::bytea IN state) > 0", needle.encode()
        )
        assert found == 0, needle
    erased = await client.delete(f"/v1/contacts/{person}", headers=admin)
    assert erased.status_code == 200, erased.text
    position = erased.headers["ledger-position"]
    gone = await client.get(f"/v1/messages/{message_id}", params={"min_position": position}, headers=staff)
    assert gone.status_code == 404
    assert await pool.fetchval("SELECT count(*) FROM dev_outbox WHERE contact_id = $1::uuid", person) == 0
