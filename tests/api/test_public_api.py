"""Contact self-service over HTTP: no enumeration, code → session, own consent, and nobody else's."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.crypto.sealer import NaclSealer
from adapters.settings import Settings
from tests import pii
from tests.codes import latest_code

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]


async def make_program(client: Client, headers: dict[str, str]) -> str:
    made = await client.post(
        "/v1/optins",
        json={"name": "News", "purpose": "marketing", "channels": ["email"], "disclosure": "News by email."},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def session_for(
    client: Client, pool: asyncpg.Pool, settings: Settings, address: str
) -> tuple[str, dict[str, str]]:
    """Ask for a code as the contact, read it from the dev outbox, confirm it: a session."""
    started = await client.post("/v1/public/verifications", json={"channel": "email", "address": address})
    assert started.status_code == 202, started.text
    index = NaclSealer(settings.index_key or b"").blind_index(address.lower())
    contact_id = None
    for _ in range(500):  # the code is made in the background
        contact_id = await pool.fetchval(
            "SELECT contact_id FROM contact_lookup WHERE blind_index = $1", index
        )
        if contact_id is not None:
            break
        await asyncio.sleep(0.02)
    assert contact_id is not None
    assert settings.kek
    assert settings.index_key
    code = await latest_code(pool, settings.kek, settings.index_key, contact_id)
    confirmed = await client.post(
        "/v1/public/verifications/confirm", json={"channel": "email", "address": address, "code": code}
    )
    assert confirmed.status_code == 200, confirmed.text
    return str(contact_id), {"Authorization": f"Bearer {confirmed.json()['access_token']}"}


async def test_known_and_unknown_addresses_get_the_same_answer(
    client: Client, as_admin: dict[str, str]
) -> None:
    known = pii.email()
    await client.post("/v1/contacts", json={"channel": "email", "address": known}, headers=as_admin)
    answers: list[tuple[int, Any]] = []
    for address in (known, pii.email()):
        response = await client.post(
            "/v1/public/verifications", json={"channel": "email", "address": address}
        )
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 202


async def test_a_verified_contact_sees_own_address_and_opts_in_and_out_at_once(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str]
) -> None:
    optin = await make_program(client, as_admin)
    address = pii.email()
    contact_id, session = await session_for(client, pool, settings, address)
    me = await client.get("/v1/public/me", headers=session)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["address"] == address  # the one place an address is shown in clear
    assert [c["status"] for c in body["consents"] if c["optin_id"] == optin] == ["unknown"]

    opted = await client.post(
        "/v1/public/me/consents", json={"optin_id": optin, "action": "opt_in"}, headers=session
    )
    assert opted.status_code == 200, opted.text
    assert opted.json()["status"] == "opted_in"
    check = await client.get(
        "/v1/consent",
        params={
            "optin_id": optin,
            "channel": "email",
            "contact_id": contact_id,
            "min_position": opted.headers["ledger-position"],
        },
        headers=as_admin,
    )
    assert check.json()["status"] == "opted_in"
    out = await client.post(
        "/v1/public/me/consents", json={"optin_id": optin, "action": "opt_out"}, headers=session
    )
    assert out.json()["status"] == "opted_out"


async def test_a_session_cannot_touch_another_contact_or_staff_routes(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str]
) -> None:
    optin = await make_program(client, as_admin)
    _, alice = await session_for(client, pool, settings, pii.email())
    bob_address = pii.email()
    bob = await client.post(
        "/v1/contacts", json={"channel": "email", "address": bob_address}, headers=as_admin
    )
    bob_id = bob.json()["id"]
    me = await client.get("/v1/public/me", headers=alice)
    assert me.json()["id"] != bob_id
    assert bob_address not in me.text
    # There is no way to name another contact: the body has no contact field, unknown fields are refused.
    sneaky = await client.post(
        "/v1/public/me/consents",
        json={"optin_id": optin, "action": "opt_in", "contact_id": bob_id},
        headers=alice,
    )
    assert sneaky.status_code == 422
    for path in (f"/v1/contacts/{bob_id}", "/v1/contacts", f"/v1/contacts/{bob_id}/timeline"):
        assert (await client.get(path, headers=alice)).status_code == 403
    state = await client.get(
        "/v1/consent", params={"optin_id": optin, "channel": "email", "contact_id": bob_id}, headers=as_admin
    )
    assert state.json()["status"] == "unknown"


async def test_wrong_codes_and_unknown_addresses_are_refused_alike(client: Client) -> None:
    for address in (pii.email(), pii.email()):
        refused = await client.post(
            "/v1/public/verifications/confirm",
            json={"channel": "email", "address": address, "code": "123456"},
        )
        assert refused.status_code == 422
        assert refused.json()["outcome"] == "refused"
    bad = await client.post(
        "/v1/public/verifications/confirm", json={"channel": "email", "address": pii.email(), "code": "12ab"}
    )
    assert bad.status_code == 422
    assert (await client.get("/v1/public/me")).status_code == 401
    assert (
        await client.get("/v1/public/me", headers={"Authorization": f"Bearer {uuid.uuid4()}"})
    ).status_code == 401


async def test_code_requests_are_rate_limited_per_address(client: Client) -> None:
    address = pii.email()
    answers = [
        (
            await client.post("/v1/public/verifications", json={"channel": "email", "address": address})
        ).status_code
        for _ in range(6)
    ]
    assert answers[:5] == [202] * 5
    assert answers[5] == 429


async def test_sms_to_a_country_not_allowed_is_refused_and_recorded(
    client: Client, pool: asyncpg.Pool
) -> None:
    refused = await client.post(
        "/v1/public/verifications", json={"channel": "sms", "address": "+447911123123"}
    )
    assert refused.status_code == 422
    assert await pool.fetchval("SELECT count(*) FROM events WHERE topic = 'verification.refused'") == 1


async def test_a_public_code_to_a_premium_rate_or_toll_free_number_is_a_clear_422_and_recorded(
    client: Client, pool: asyncpg.Pool
) -> None:
    before = await pool.fetchval("SELECT coalesce(max(notification_id), 0) FROM events")
    for number, said in (("+19005550123", "premium-rate"), ("+18005550199", "toll-free")):
        refused = await client.post(
            "/v1/public/verifications", json={"channel": "sms", "address": pii.remember(number)}
        )
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["detail"] == f"codes are texted to mobile numbers only, not to {said} numbers"
    recorded = await pool.fetch(
        "SELECT topic, state FROM events WHERE notification_id > $1 ORDER BY notification_id", before
    )
    assert [r["topic"] for r in recorded] == ["verification.refused"] * 2  # no contact, no code
    assert b'"number_type_premium_rate"' in bytes(recorded[0]["state"])
    mobile = await client.post("/v1/public/verifications", json={"channel": "sms", "address": pii.phone()})
    assert mobile.status_code == 202, mobile.text
