"""Connections the server drops are never lent again, and every failure they cause says "database
unavailable" (a 503), never an unexplained error (a 500).

The event store keeps connections between batches while appends keep coming; the pool lends
connections whose last query failed. Sessions are dropped under load (`pg_terminate_backend`),
with and without the database refusing new connections for a while.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from adapters.postgres.availability import Availability, classify
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.pool import create_pool
from ledger.ports import StoredEvent
from tests.faults.service import DatabaseSwitch

pytestmark = pytest.mark.integration


class Load:
    """16 tasks appending one event each, again and again; outcomes by start time."""

    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store
        self.outcomes: list[tuple[float, BaseException | None]] = []
        self._stop = False
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Load:
        self._tasks = [asyncio.create_task(self._append()) for _ in range(16)]
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stop = True
        await asyncio.gather(*self._tasks)

    async def _append(self) -> None:
        while not self._stop:
            started = time.monotonic()
            try:
                await self.store.append([StoredEvent(uuid.uuid4(), 1, "test.happened", b"{}")])
                self.outcomes.append((started, None))
            except Exception as e:
                self.outcomes.append((started, e))
                await asyncio.sleep(0.01)

    def failures(self, since: float = 0.0) -> collections.Counter[str]:
        return collections.Counter(
            f"{type(e).__name__}: {e}" for started, e in self.outcomes if e is not None and started >= since
        )

    def unexplained(self) -> list[BaseException]:
        return [e for _, e in self.outcomes if e is not None and classify(e) is None]


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[PostgresEventStore]:
    availability = Availability.of_dsn(database_url)
    pool = await create_pool(
        database_url, role="optin_app", min_size=2, max_size=10, availability=availability
    )
    store = PostgresEventStore(pool)
    yield store
    await store.close()
    await pool.close()
    await availability.close()


async def test_sessions_dropped_under_load_fail_only_the_appends_in_flight_and_say_why(
    admin_dsn: str, database_url: str, store: PostgresEventStore
) -> None:
    switch = DatabaseSwitch(admin_dsn, database_url)
    admin = await asyncpg.connect(admin_dsn)
    try:
        async with Load(store) as load:
            for _ in range(3):
                await asyncio.sleep(0.3)
                assert await switch.terminate(admin) > 0
                dropped = time.monotonic()
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
    assert not load.unexplained(), load.failures()
    assert not load.failures(since=dropped + 0.1), load.failures(since=dropped + 0.1)


async def test_after_an_outage_no_kept_connection_is_reused(
    admin_dsn: str, database_url: str, store: PostgresEventStore
) -> None:
    switch = DatabaseSwitch(admin_dsn, database_url)
    async with Load(store) as load:
        await asyncio.sleep(0.3)
        await switch.take_away()
        await asyncio.sleep(1.0)
        await switch.give_back()
        back = time.monotonic()
        await asyncio.sleep(1.0)
    assert not load.unexplained(), load.failures()
    assert not load.failures(since=back + 0.2), load.failures(since=back + 0.2)
    assert sum(1 for started, e in load.outcomes if e is None and started >= back) > 100
