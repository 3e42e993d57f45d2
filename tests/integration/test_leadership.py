"""Projector leader election on real PostgreSQL: one runner applies, the standby takes over."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence

import asyncpg
import pytest

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.leadership import PROJECTOR_LOCK, AdvisoryLockLeadership
from adapters.postgres.pool import Connection, create_pool
from ledger.ports import StoredEvent
from projections.projection import Envelope
from projections.runner import ProjectionRunner, wait_for_position

pytestmark = pytest.mark.integration


class AppliedBy:
    """Records which replica applied each position; the primary key refuses a second apply."""

    name = "applied_by"
    tables: tuple[str, ...] = ("applied_by",)
    topics: frozenset[str] = frozenset({"test.happened"})

    def __init__(self, replica: str) -> None:
        self.replica = replica

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        await conn.executemany(
            "INSERT INTO applied_by VALUES ($1, $2)", [(e.position, self.replica) for e in batch]
        )


class PassThrough:
    """Test events carry raw bytes, not a registered event class: hand them over undecoded."""

    def decode(self, topic: str, originator_id: uuid.UUID, version: int, state: bytes) -> StoredEvent:
        return StoredEvent(originator_id, version, topic, state)


class Replica:
    """One projector process: its own pool, runner and leadership, like a pod."""

    def __init__(self, name: str, dsn: str, pool: asyncpg.Pool) -> None:
        self.name = name
        self.runner = ProjectionRunner(pool, [AppliedBy(name)], batch_size=10, poll_interval=0.1)
        self.runner.mapper = PassThrough()  # type: ignore[assignment]
        self.leadership = AdvisoryLockLeadership(
            dsn,
            name=f"projector {name}",
            poll_interval=0.05,
            check_interval=0.2,
            check_timeout=1.0,
            rejoin_delay=1.0,  # 20 standby polls: the standby wins even on a loaded machine
        )
        self.task = asyncio.ensure_future(self.leadership.run(self.runner.run_forever))


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[tuple[Replica, Replica]]:
    owner = await asyncpg.connect(database_url)
    await owner.execute("CREATE TABLE applied_by (position bigint PRIMARY KEY, replica text NOT NULL)")
    await owner.execute("GRANT ALL ON applied_by TO optin_app")
    await owner.close()
    pools = [await create_pool(database_url, role="optin_app", min_size=1, max_size=4) for _ in range(2)]
    pair = (Replica("a", database_url, pools[0]), Replica("b", database_url, pools[1]))
    try:
        yield pair
    finally:
        for replica in pair:
            replica.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await replica.task
        for pool in pools:
            await pool.close()


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 -- polls state set by another task's progress
            await asyncio.sleep(0.02)


async def fill(store: PostgresEventStore, n: int) -> None:
    for _ in range(n):
        await store.append([StoredEvent(uuid.uuid4(), 1, "test.happened", b"{}")])


async def appliers(pool: asyncpg.Pool, after: int = 0) -> set[str]:
    rows = await pool.fetch("SELECT DISTINCT replica FROM applied_by WHERE position > $1", after)
    return {r["replica"] for r in rows}


async def lock_holders(pool: asyncpg.Pool) -> list[int]:
    """Backends holding the projector lock (a bigint key: high half in classid, low in objid)."""
    rows = await pool.fetch(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
        " AND classid::bigint = $1 AND objid::bigint = $2",
        PROJECTOR_LOCK >> 32,
        PROJECTOR_LOCK & 0xFFFF_FFFF,
    )
    return [r["pid"] for r in rows]


def leader_and_standby(pair: tuple[Replica, Replica]) -> tuple[Replica, Replica]:
    a, b = pair
    return (a, b) if a.leadership.is_leader else (b, a)


async def test_two_replicas_elect_one_leader_and_only_it_applies(
    replicas: tuple[Replica, Replica], store: PostgresEventStore, pool: asyncpg.Pool
) -> None:
    await eventually(lambda: any(r.leadership.is_leader for r in replicas))
    await asyncio.sleep(0.3)  # several standby polls: the other must still be waiting
    leader, standby = leader_and_standby(replicas)
    assert not standby.leadership.is_leader
    assert standby.leadership.backend_pid is not None  # connected: a hot standby, not a cold one
    assert await lock_holders(pool) == [leader.leadership.backend_pid]

    await fill(store, 25)
    await wait_for_position(pool, 25, ["applied_by"], timeout=10)
    assert await appliers(pool) == {leader.name}
    assert await pool.fetchval("SELECT count(*) FROM applied_by") == 25


async def test_the_standby_takes_over_when_the_leaders_connection_dies(
    replicas: tuple[Replica, Replica], store: PostgresEventStore, pool: asyncpg.Pool, database_url: str
) -> None:
    await eventually(lambda: any(r.leadership.is_leader for r in replicas))
    leader, standby = leader_and_standby(replicas)
    await fill(store, 5)
    await wait_for_position(pool, 5, ["applied_by"], timeout=10)

    admin = await asyncpg.connect(database_url)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", leader.leadership.backend_pid)
    finally:
        await admin.close()

    await eventually(lambda: standby.leadership.is_leader)
    # the old leader stopped its runner and went back to standing by, on a new connection
    await eventually(lambda: not leader.leadership.is_leader and leader.leadership.backend_pid is not None)
    assert await lock_holders(pool) == [standby.leadership.backend_pid]

    await fill(store, 12)
    await wait_for_position(pool, 17, ["applied_by"], timeout=10)
    assert await appliers(pool, after=5) == {standby.name}
    positions = [r[0] for r in await pool.fetch("SELECT position FROM applied_by ORDER BY 1")]
    assert positions == list(range(1, 18))  # nothing lost, nothing applied twice
    assert not leader.task.done()  # still running, as a standby
