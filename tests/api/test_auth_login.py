"""Staff login over HTTP: tokens, refusals that reveal nothing, and brute force slowed then blocked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.auth.principal import Role
from api.composition import Components
from ledger.vocabulary import SYSTEM
from projections.runner import wait_for_position

pytestmark = pytest.mark.integration

EMAIL = "Ada.Admin@staff.example.org"
PASSWORD = "violet-harbour-lantern-42"


async def make_user(auth: Components, pool: asyncpg.Pool, role: Role = "admin") -> UUID:
    user, position = await auth.accounts.create(email=EMAIL, role=role, password=PASSWORD, actor=SYSTEM)
    await wait_for_position(pool, position, ["users"])
    return user.id


async def stream_after(pool: asyncpg.Pool, stream: UUID, events: int) -> list[asyncpg.Record]:
    """The stream once it has `events` events (failures are recorded in the background)."""
    for _ in range(200):
        rows = await pool.fetch(
            "SELECT topic, state FROM events WHERE originator_id = $1 ORDER BY originator_version", stream
        )
        if len(rows) >= events:
            return list(rows)
        await asyncio.sleep(0.02)
    raise AssertionError(f"the stream has {len(rows)} events, not {events}")


async def login(client: AsyncTestClient[Litestar], password: str, username: str = EMAIL) -> httpx.Response:
    return await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": username, "password": password}
    )


async def test_login_gives_a_short_lived_bearer_token_that_works(
    client: AsyncTestClient[Litestar], auth_services: Components, pool: asyncpg.Pool
) -> None:
    await make_user(auth_services, pool)
    response = await login(client, PASSWORD, username="  ada.admin@STAFF.example.org ")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    listed = await client.get("/v1/users", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert listed.status_code == 200
    assert [u["email"] for u in listed.json()["users"]] == ["ada.admin@staff.example.org"]


async def test_unknown_email_and_wrong_password_are_refused_alike(
    client: AsyncTestClient[Litestar], auth_services: Components, pool: asyncpg.Pool
) -> None:
    user_id = await make_user(auth_services, pool)
    wrong = await login(client, "not-the-password-at-all")
    unknown = await login(client, PASSWORD, username="nobody@staff.example.org")
    malformed = await login(client, PASSWORD, username="not an email")
    for response in (wrong, unknown, malformed):
        assert response.status_code == 401
        assert response.json()["detail"] == "invalid email or password"
        assert response.json()["error"] == "invalid_grant"
    # The known account's failure is on its stream (written off the answer's path), with the
    # reason and never the password.
    rows = await stream_after(pool, user_id, 2)
    assert [r["topic"] for r in rows] == ["user.created", "user.login_failed"]
    assert b"wrong_password" in rows[1]["state"]
    everything = b"".join(r["state"] for r in await pool.fetch("SELECT state FROM events"))
    assert b"not-the-password" not in everything
    assert PASSWORD.encode() not in everything
    assert b"ada.admin" not in everything.lower() and b"staff.example" not in everything.lower()


async def test_a_login_form_without_credentials_is_a_clear_4xx(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/v1/auth/token", data={"username": "x@example.org"})
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")
    wrong_grant = await client.post(
        "/v1/auth/token", data={"grant_type": "client_credentials", "username": "a@b.co", "password": "x"}
    )
    assert wrong_grant.status_code in (400, 422)


async def test_brute_force_on_one_account_is_slowed_then_blocked(
    client: AsyncTestClient[Litestar], auth_services: Components, pool: asyncpg.Pool
) -> None:
    user_id = await make_user(auth_services, pool)
    login_service = client.app.state.components.login.logins
    now = datetime(2031, 5, 1, tzinfo=UTC)
    login_service.clock = lambda: now

    for _ in range(4):  # free attempts, then the 4th sets a 1 s delay
        assert (await login(client, "wrong-guess-1234")).status_code == 401
    slowed = await login(client, PASSWORD)  # even the right password waits
    assert slowed.status_code == 429
    assert slowed.headers["retry-after"] == "1"

    statuses = []
    for _ in range(6):  # wait out each delay and guess again: the 10th failure blocks
        now += timedelta(minutes=1)
        statuses.append((await login(client, "wrong-guess-1234")).status_code)
    assert statuses == [401] * 6
    now += timedelta(minutes=1)
    blocked = await login(client, PASSWORD)
    assert blocked.status_code == 429
    assert 13 * 60 < int(blocked.headers["retry-after"]) <= 15 * 60

    now += timedelta(minutes=15)
    assert (await login(client, PASSWORD)).status_code == 200
    topics = [r["topic"] for r in await stream_after(pool, user_id, 12)]
    assert topics.count("user.login_failed") == 10
    assert topics.count("user.login_blocked") == 1


async def test_a_disabled_account_cannot_log_in(
    client: AsyncTestClient[Litestar], auth_services: Components, pool: asyncpg.Pool
) -> None:
    user_id = await make_user(auth_services, pool, role="staff")
    position = await auth_services.accounts.change(user_id, disabled=True, actor=SYSTEM)
    await wait_for_position(pool, position, ["users"])
    assert (await login(client, PASSWORD)).status_code == 401
