"""The consent flow over HTTP on real PostgreSQL: request → code from the outbox → confirm.

Wrong codes lock a verification, an expired code is refused, a code cannot be replayed, and the
result is visible through GET /v1/consent (now, and as of any earlier instant).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.settings import Settings
from tests import pii
from tests.codes import codes_sent, latest_code

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def program(client: Client, h: dict[str, str], channels: list[str] | None = None) -> str:
    made = await client.post(
        "/v1/optins",
        json={
            "name": "Weekly offers",
            "purpose": "marketing",
            "channels": channels or ["email", "sms"],
            "disclosure": "Weekly offers by email or SMS. Reply STOP to stop.",
        },
        headers=h,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def ask(
    client: Client, h: dict[str, str], optin: str, address: str, action: str = "opt_in"
) -> dict[str, Any]:
    response = await client.post(
        "/v1/consent-requests",
        json={"optin_id": optin, "action": action, "channel": "email", "address": address},
        headers={**h, "User-Agent": "pytest-agent/1.0"},
    )
    assert response.status_code == 202, response.text
    return {**response.json(), "position": int(response.headers["ledger-position"])}


async def consent(
    client: Client, h: dict[str, str], optin: str, contact: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        "/v1/consent",
        params={"optin_id": optin, "channel": "email", "contact_id": contact, **params},
        headers=h,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_request_wrong_codes_lock_then_a_new_code_opts_in(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str]
) -> None:
    assert settings.kek and settings.index_key
    optin = await program(client, as_admin)
    asked = await ask(client, as_admin, optin, pii.email())
    contact, first = asked["contact_id"], asked["verification_id"]
    assert asked["status"] == "pending"
    code = await latest_code(pool, settings.kek, settings.index_key, contact)
    wrong = "000000" if code != "000000" else "111111"
    for attempt in range(1, 6):
        refused = await client.post(f"/v1/verifications/{first}/confirm", json={"code": wrong})
        assert refused.status_code == 422
        assert refused.json()["outcome"] == ("wrong" if attempt < 5 else "locked")
    locked = await client.post(f"/v1/verifications/{first}/confirm", json={"code": code})
    assert locked.json()["outcome"] == "locked"

    second = await client.post(
        "/v1/consent-requests",
        json={"optin_id": optin, "action": "opt_in", "contact_id": contact},
        headers=as_admin,
    )
    assert second.status_code == 202
    code = await latest_code(pool, settings.kek, settings.index_key, contact, after=1)
    confirmed = await client.post(
        f"/v1/verifications/{second.json()['verification_id']}/confirm", json={"code": code}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "opted_in"
    now = await consent(client, as_admin, optin, contact, min_position=confirmed.headers["ledger-position"])
    assert now["status"] == "opted_in"
    assert now["event_topic"] == "consent.granted"
    replay = await client.post(
        f"/v1/verifications/{second.json()['verification_id']}/confirm", json={"code": code}
    )
    assert replay.status_code == 422
    assert replay.json()["outcome"] == "used"


async def test_expired_code_is_refused_and_the_request_lapses(
    app: Litestar, client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str]
) -> None:
    assert settings.kek and settings.index_key
    clock = Clock()
    app.state.components.flows.clock = clock
    optin = await program(client, as_admin)
    asked = await ask(client, as_admin, optin, pii.email())
    code = await latest_code(pool, settings.kek, settings.index_key, asked["contact_id"])
    clock.offset = timedelta(minutes=11)
    expired = await client.post(f"/v1/verifications/{asked['verification_id']}/confirm", json={"code": code})
    assert expired.status_code == 422
    assert expired.json()["outcome"] == "expired"
    state = await consent(
        client, as_admin, optin, asked["contact_id"], min_position=expired.headers["ledger-position"]
    )
    assert state["status"] == "unknown"


async def test_as_of_answers_from_the_events_and_names_the_deciding_event(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str]
) -> None:
    assert settings.kek and settings.index_key
    optin = await program(client, as_admin)
    asked = await ask(client, as_admin, optin, pii.email())
    contact = asked["contact_id"]
    before_confirm = datetime.now(UTC)
    code = await latest_code(pool, settings.kek, settings.index_key, contact)
    done = await client.post(f"/v1/verifications/{asked['verification_id']}/confirm", json={"code": code})
    granted_at = int(done.headers["ledger-position"])
    out = await client.post(
        "/v1/consent-requests",
        json={
            "optin_id": optin,
            "action": "opt_out",
            "contact_id": contact,
            "source": "admin",
            "reason": "asked by phone",
        },
        headers=as_admin,
    )
    assert out.status_code == 200, out.text
    assert out.json()["status"] == "opted_out"
    earlier = await consent(client, as_admin, optin, contact, as_of=before_confirm.isoformat())
    assert earlier["status"] == "pending"
    after_grant = await consent(client, as_admin, optin, contact, as_of=datetime.now(UTC).isoformat())
    assert after_grant["status"] == "opted_out"
    assert after_grant["event_topic"] == "consent.withdrawn"
    rows = await pool.fetch(
        "SELECT notification_id, topic FROM events WHERE notification_id <= $1", granted_at
    )
    assert rows[-1]["topic"] == "consent.granted" or "consent.granted" in {r["topic"] for r in rows}
    no_tz = await client.get(
        "/v1/consent",
        params={"optin_id": optin, "channel": "email", "contact_id": contact, "as_of": "2026-01-01T00:00:00"},
        headers=as_admin,
    )
    assert no_tz.status_code in (400, 422)


async def test_bulk_check_answers_in_order_by_id_or_address(
    client: Client, pool: asyncpg.Pool, as_admin: dict[str, str]
) -> None:
    optin = await program(client, as_admin)
    email = pii.email()
    asked = await ask(client, as_admin, optin, email)
    rows = [
        {"optin_id": optin, "channel": "email", "contact_id": asked["contact_id"]},
        {"optin_id": optin, "channel": "email", "address": email},
        {"optin_id": optin, "channel": "email", "address": pii.email()},
    ]
    checked = await client.post(
        "/v1/consent/check",
        json={"items": rows},
        headers=as_admin,
        params={"min_position": asked["position"]},
    )
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert [r["status"] for r in body] == ["pending", "pending", "unknown"]
    assert await codes_sent(pool, asked["contact_id"]) == 1
    assert body[0]["contact_id"] == body[1]["contact_id"] == asked["contact_id"]
    too_many = await client.post("/v1/consent/check", json={"items": rows * 334}, headers=as_admin)
    assert too_many.status_code == 422


async def test_staff_opt_out_needs_no_reason_nor_code_but_a_program_on_the_contacts_channel(
    client: Client, as_admin: dict[str, str]
) -> None:
    optin = await program(client, as_admin, ["sms"])
    asked = await client.post(
        "/v1/consent-requests",
        json={"optin_id": optin, "action": "opt_in", "channel": "email", "address": pii.email()},
        headers=as_admin,
    )
    assert asked.status_code == 422
    no_reason = await client.post(
        "/v1/consent-requests",
        json={
            "optin_id": optin,
            "action": "opt_out",
            "channel": "sms",
            "address": pii.phone(),
            "source": "admin",
        },
        headers=as_admin,
    )
    assert no_reason.status_code == 200, no_reason.text
    assert no_reason.json()["status"] == "opted_out"
    assert "verification_id" not in no_reason.json() or no_reason.json()["verification_id"] is None
    as_app = await client.post(
        "/v1/consent-requests",
        json={
            "optin_id": optin,
            "action": "opt_out",
            "channel": "sms",
            "address": pii.phone(),
            "source": "app",
        },
        headers=as_admin,
    )
    assert as_app.status_code == 403
    staff_opt_in = await client.post(
        "/v1/consent-requests",
        json={
            "optin_id": optin,
            "action": "opt_in",
            "channel": "sms",
            "address": pii.phone(),
            "source": "admin",
        },
        headers=as_admin,
    )
    assert staff_opt_in.status_code == 403
