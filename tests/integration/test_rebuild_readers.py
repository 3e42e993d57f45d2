"""A rebuild does not make readers wait: while 100,000 events are replayed into the programs
read model, reads of it answer as fast as before, always from a complete model (the old one,
then the new), and programs created during the rebuild are in the model it swaps in."""

from __future__ import annotations

import asyncio
import random
import statistics
import threading
import time
from uuid import UUID

import asyncpg
import pytest

from adapters.postgres.event_store import PostgresEventStore
from api.bench.replay import _program_events
from ledger.codec import LedgerMapper
from ledger.program import new_program
from ledger.repository import Repository
from ledger.vocabulary import SYSTEM
from projections.programs import ProgramsProjection
from projections.runner import ProjectionRunner

pytestmark = pytest.mark.integration

PROGRAMS = 20_000  # five events each: 100,000 events


async def ledger_of_programs(store: PostgresEventStore, programs: int) -> None:
    mapper, chunk = LedgerMapper(), []
    for i in range(programs):
        chunk.extend(_program_events(mapper, i))
        if len(chunk) >= 5000:
            await store.append(chunk)
            chunk = []
    if chunk:
        await store.append(chunk)


class Reader:
    """Reads one program after another by id, as the API does, timing each: in a thread with a
    loop and a connection of its own, as a separate `serve` would (the rebuild's decoding in
    this loop must not count as the database making readers wait)."""

    def __init__(self, dsn: str, ids: list[UUID]) -> None:
        self.dsn, self.ids = dsn, ids
        self.seconds: list[float] = []
        self.missing = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> Reader:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.dsn, server_settings={"role": "optin_app"})
        try:
            while not self._stop.is_set():
                started = time.perf_counter()
                wanted = random.choice(self.ids)
                row = await conn.fetchrow("SELECT id, name FROM optins WHERE id = $1", wanted)
                self.seconds.append(time.perf_counter() - started)
                self.missing += row is None
                await asyncio.sleep(0.005)
        finally:
            await conn.close()

    def p99(self) -> float:
        return statistics.quantiles(self.seconds, n=100)[98]


async def test_reads_during_a_rebuild_of_100k_events_answer_at_normal_latency(
    pool: asyncpg.Pool, store: PostgresEventStore, database_url: str
) -> None:
    await ledger_of_programs(store, PROGRAMS)
    assert await store.head() >= 100_000
    projection = ProgramsProjection()
    runner = ProjectionRunner(pool, [projection], batch_size=5000, poll_interval=0.05)
    await runner.catch_up(projection)
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM optins")]
    live = asyncio.create_task(runner.run_forever())  # keeps the old model current meanwhile

    created = new_program(
        name="Made during the rebuild",
        description="",
        purpose="marketing",
        channels=("email",),
        disclosure="d",
        actor=SYSTEM,
    )
    with Reader(database_url, ids) as before:
        await asyncio.sleep(1.0)
    rebuilder = ProjectionRunner(pool, [projection], batch_size=5000)
    with Reader(database_url, ids) as during:
        started = time.perf_counter()
        rebuilding = asyncio.create_task(rebuilder.rebuild(projection))
        await asyncio.sleep(0.3)
        await Repository(store).save(created)
        applied = await rebuilding
        took = time.perf_counter() - started
    live.cancel()

    worst = max(during.seconds)
    assert len(during.seconds) >= 50, (
        f"{len(during.seconds)} reads in a {took:.2f} s rebuild (worst {worst:.2f} s)"
    )
    print(
        f"rebuild {applied} events in {took:.2f} s; reads p99 {before.p99() * 1000:.1f} ms before, "
        f"{during.p99() * 1000:.1f} ms during, worst {worst * 1000:.1f} ms of {len(during.seconds)}"
    )
    assert applied >= 100_000
    assert during.missing == 0  # always a complete model: never an empty or half-filled one
    assert during.p99() < max(5 * before.p99(), 0.05)
    assert worst < 0.25, f"a read waited {worst:.2f} s during a {took:.2f} s rebuild"
    assert await pool.fetchval("SELECT count(*) FROM optins") == PROGRAMS + 1
    assert await pool.fetchval("SELECT name FROM optins WHERE id = $1", created.id) == created.name
