"""Reads on a real streaming replica: served there, consistent after a write with `min_position`,
answered by the primary (after the wait) while the replica lags, and while it is down, with no
error, and served by the replica again once it is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from tests import pii
from tests.api.conftest import AuthHeaders
from tests.api.test_consent_flow import program
from tests.replica.conftest import REPLICA, ReplicaControl

Client = AsyncTestClient[Litestar]
T = TypeVar("T")
REPLICA_ONLY, PRIMARY_ONLY = {"replica": 1, "primary": 0}, {"replica": 0, "primary": 1}


def served() -> dict[str, float]:
    """Requests whose reads went to each database so far (the service's own counter)."""
    return {
        db: REGISTRY.get_sample_value("optin_read_requests_total", {"database": db}) or 0.0
        for db in ("replica", "primary")
    }


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("optin_read_fallbacks_total", {"reason": reason}) or 0.0


def serving() -> bool:
    return REGISTRY.get_sample_value("optin_read_replica_serving") == 1.0


async def answered_by(read: Awaitable[T]) -> tuple[T, dict[str, float]]:
    """What `read` gave, and where its read-model queries were sent."""
    before = served()
    result = await read
    after = served()
    return result, {db: after[db] - before[db] for db in after}


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.05)


async def opt_out(client: Client, headers: dict[str, str], optin: str) -> tuple[str, int]:
    """A staff opt-out for a new address: recorded at once. (contact id, ledger position)"""
    out = await client.post(
        "/v1/consent-requests",
        json={"optin_id": optin, "action": "opt_out", "channel": "email", "address": pii.email()},
        headers=headers,
    )
    assert out.status_code == 200, out.text
    return out.json()["contact_id"], int(out.headers["ledger-position"])


async def status(client: Client, headers: dict[str, str], optin: str, contact: str, **query: int) -> str:
    got = await client.get(
        "/v1/consent",
        params={"optin_id": optin, "contact_id": contact, "channel": "email", **query},
        headers=headers,
    )
    assert got.status_code == 200, got.text
    return str(got.json()["status"])


@pytest.fixture
async def staff(auth_headers: AuthHeaders) -> dict[str, str]:
    return await auth_headers("staff")


async def projected(pool: asyncpg.Pool, position: int) -> None:
    """Until the primary's read models have `position`: what is left is replication's part (a
    loaded machine can take its projector over the replica's wait)."""
    await until_async(lambda: pool.fetchval("SELECT min(position) >= $1 FROM projection_tracking", position))


async def until_async(condition: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.02)


async def test_reads_are_served_by_the_replica_and_a_min_position_read_sees_its_write(
    client: Client, staff: dict[str, str], pool: asyncpg.Pool
) -> None:
    await until(serving)
    optin = await program(client, staff)
    for _ in range(10):
        contact, position = await opt_out(client, staff, optin)
        await projected(pool, position)
        read = status(client, staff, optin, contact, min_position=position)
        assert await answered_by(read) == ("opted_out", REPLICA_ONLY)

    bulk = await client.post(
        "/v1/consent/check",
        json={"items": [{"optin_id": optin, "channel": "email", "contact_id": contact}]},
        headers=staff,
    )
    assert bulk.status_code == 200 and bulk.json()[0]["status"] == "opted_out"
    listed = await client.get("/v1/optins", headers=staff)
    assert listed.status_code == 200 and [p["id"] for p in listed.json()] == [optin]


async def test_a_lagging_replica_answers_stale_until_the_bound_and_min_position_reads_go_to_the_primary(
    client: Client, staff: dict[str, str], replica_control: ReplicaControl
) -> None:
    await until(serving)
    optin = await program(client, staff)
    await replica_control.pause()
    contact, position = await opt_out(client, staff, optin)

    # Without min_position the paused replica answers from before the write: it is the replica.
    assert await answered_by(status(client, staff, optin, contact)) == ("unknown", REPLICA_ONLY)

    # With min_position the read waits for the replica, then the primary answers, consistently.
    waited_before, started = fallbacks("min_position"), time.monotonic()
    read = status(client, staff, optin, contact, min_position=position)
    assert await answered_by(read) == ("opted_out", PRIMARY_ONLY)
    assert REPLICA.wait_seconds <= time.monotonic() - started < REPLICA.wait_seconds + 1.5
    assert fallbacks("min_position") == waited_before + 1

    # Past max_lag_seconds the replica stops taking reads: even plain reads see the write.
    await until(lambda: not serving(), REPLICA.max_lag_seconds + 3)
    assert await status(client, staff, optin, contact) == "opted_out"

    await replica_control.resume()
    await until(serving)
    assert await answered_by(status(client, staff, optin, contact)) == ("opted_out", REPLICA_ONLY)


async def test_a_replica_that_is_down_leaves_the_primary_answering_and_serves_again_when_back(
    client: Client, staff: dict[str, str], replica_control: ReplicaControl, pool: asyncpg.Pool
) -> None:
    await until(serving)
    optin = await program(client, staff)
    await replica_control.stop()

    contact, position = await opt_out(client, staff, optin)
    await every_read_answers(client, staff, optin, contact, position)
    assert not serving()

    await replica_control.start()
    await until(serving)
    await projected(pool, position)
    read = status(client, staff, optin, contact, min_position=position)
    assert await answered_by(read) == ("opted_out", REPLICA_ONLY)


@pytest.mark.parametrize("replica_check_seconds", [60.0])  # the check sees it serving once, at start
async def test_a_query_that_finds_the_replica_gone_is_answered_by_the_primary(
    client: Client, staff: dict[str, str], replica_control: ReplicaControl
) -> None:
    """Between two checks it is the failing query that takes the replica out of service."""
    assert serving()
    optin = await program(client, staff)
    await replica_control.stop()
    unreachable = fallbacks("unreachable")

    contact, position = await opt_out(client, staff, optin)
    await every_read_answers(client, staff, optin, contact, position)
    assert fallbacks("unreachable") == unreachable + 1  # the first; then the primary until a check
    assert not serving()


async def every_read_answers(
    client: Client, staff: dict[str, str], optin: str, contact: str, position: int
) -> None:
    """Consent checks (one, with and without min_position, and bulk), lists, a timeline: 200."""
    assert await status(client, staff, optin, contact) in ("unknown", "opted_out")
    assert await status(client, staff, optin, contact, min_position=position) == "opted_out"
    bulk = await client.post(
        "/v1/consent/check",
        json={"items": [{"optin_id": optin, "channel": "email", "contact_id": contact}]},
        headers=staff,
    )
    assert bulk.status_code == 200 and bulk.json()[0]["status"] == "opted_out"
    for path in ("/v1/optins", f"/v1/optins/{optin}", f"/v1/contacts/{contact}/timeline", "/v1/messages"):
        got = await client.get(path, headers=staff)
        assert got.status_code == 200, (path, got.status_code, got.text)
