"""`/ready` is false while migrations run or are missing, the database is unreachable, or a read
model lags past its bound, and true again by itself once that passes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.postgres.dsn import database_name, with_database
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.migrations import _LOCK_KEY
from api.app import create_app
from ledger.ports import StoredEvent
from tests.api.conftest import app_settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(database_url: str, tmp_path: Path) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = msgspec.structs.replace(
        app_settings(database_url, tmp_path), ready_max_lag_events=3, ready_max_lag_seconds=60.0
    )
    async with AsyncTestClient(create_app(settings)) as c:
        yield c


async def ready_becomes(
    client: AsyncTestClient[Litestar], status: str, timeout: float = 15
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await client.get("/ready")
        body: dict[str, Any] = response.json()
        if body["status"] == status:
            assert response.status_code == (200 if status == "ready" else 503), body
            return body
        assert asyncio.get_running_loop().time() < deadline, f"/ready stayed {body}, expected {status}"
        await asyncio.sleep(0.1)


async def test_ready_while_a_projection_is_stuck_says_lagging_then_recovers(
    client: AsyncTestClient[Litestar], database_url: str, store: PostgresEventStore
) -> None:
    await ready_becomes(client, "ready")
    blocker = await asyncpg.connect(database_url)
    try:
        # The runner applies each projection under this advisory lock: holding it stalls them.
        await blocker.execute("SELECT pg_advisory_lock(hashtext('projection:optins'))")
        for _ in range(5):
            await store.append([StoredEvent(uuid.uuid4(), 1, "test.happened", b"{}")])
        body = await ready_becomes(client, "lagging")
        assert body["projection_lag"]["optins"] >= 5
        assert body["projection_lag_seconds"]["optins"] > 0
        assert body["ledger_position"] is not None
    finally:
        await blocker.close()  # the lock goes with the session
    body = await ready_becomes(client, "ready")
    assert set(body["projection_lag"].values()) == {0}


async def test_ready_while_migrations_run_or_are_missing(
    client: AsyncTestClient[Litestar], database_url: str
) -> None:
    await ready_becomes(client, "ready")
    migrator = await asyncpg.connect(database_url)
    try:
        await migrator.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        assert (await ready_becomes(client, "migrating"))["migrations"] == "running"
        await migrator.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
        await ready_becomes(client, "ready")
        last = await migrator.fetchrow("SELECT * FROM schema_migrations ORDER BY version DESC LIMIT 1")
        assert last is not None
        await migrator.execute("DELETE FROM schema_migrations WHERE version = $1", last["version"])
        assert (await ready_becomes(client, "migrating"))["migrations"] == "pending"
        await migrator.execute("INSERT INTO schema_migrations VALUES ($1, $2, $3)", last[0], last[1], last[2])
        await ready_becomes(client, "ready")
    finally:
        await migrator.close()


async def test_ready_while_the_database_is_unreachable(
    client: AsyncTestClient[Litestar], database_url: str, admin_dsn: str
) -> None:
    await ready_becomes(client, "ready")
    name = database_name(database_url)
    admin = await asyncpg.connect(with_database(admin_dsn, "postgres"))
    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        body = await ready_becomes(client, "unavailable")
        assert body["database"] == "unreachable"
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        await admin.close()
    await ready_becomes(client, "ready")
