"""The replica's pool itself on the real pair: a connection already lent to a request's reads
answers from the primary when the replica dies under it, and so does a query that WAL replay
cancels; a wait for a position is measured on the replica alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from prometheus_client import REGISTRY

from adapters.postgres.pool import create_pool
from adapters.postgres.replica import ReadDatabase, ReplicaPool, open_replica_pool
from adapters.postgres.replica_settings import ReadReplicaSettings
from projections.runner import read_models_position
from tests.replica.conftest import ReplicaControl
from tests.replica.streaming import StreamingPair

NAMES = ["followed"]


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("optin_read_fallbacks_total", {"reason": reason}) or 0.0


async def reached(db: ReadDatabase) -> int | None:
    return await read_models_position(db, NAMES)


@pytest.fixture
async def owner(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """The primary, as the superuser: writes the tracking row and the table the tests read."""
    conn = await asyncpg.connect(database_url)
    await conn.execute("CREATE TABLE readings (n int); INSERT INTO readings SELECT generate_series(1, 1000)")
    await conn.execute("GRANT SELECT ON readings TO optin_app")
    await conn.execute("INSERT INTO projection_tracking (name, position) VALUES ('followed', 7)")
    yield conn
    await conn.close()


@pytest.fixture
def statement_cache() -> int:
    """The replica pool's statement cache: 0 (behind PgBouncer) makes its waits transactions."""
    return 100


@pytest.fixture
async def replica_pool(
    owner: asyncpg.Connection, database_url: str, replica_url: str, statement_cache: int
) -> AsyncIterator[ReplicaPool]:
    del owner
    primary = await create_pool(database_url, role="optin_app", min_size=1, max_size=4)
    replica = ReadReplicaSettings(url=replica_url, wait_seconds=1.0, max_lag_seconds=60.0, check_seconds=60.0)
    for _ in range(100):  # the replica has the tracking row: it is serving from the first check
        pool = await open_replica_pool(
            replica, primary, reached, max_size=4, statement_cache_size=statement_cache
        )
        if pool.serving:
            break
        await pool.close()
        await asyncio.sleep(0.1)
    yield pool
    await pool.close()
    await primary.close()


async def test_a_lent_connection_answers_from_the_primary_when_the_replica_dies_under_it(
    replica_pool: ReplicaPool, replica_control: ReplicaControl
) -> None:
    unreachable = fallbacks("unreachable")
    async with replica_pool.connection_at(7, timeout=1.0) as conn:
        assert conn is not None
        assert await conn.fetchval("SELECT pg_is_in_recovery()") is True
        await replica_control.stop()
        assert await conn.fetchval("SELECT pg_is_in_recovery()") is False  # the primary answered
        assert await conn.fetchval("SELECT count(*) FROM readings") == 1000
    assert not replica_pool.serving
    assert fallbacks("unreachable") == unreachable + 1  # the first query; the rest follow it
    assert await replica_pool.fetchval("SELECT pg_is_in_recovery()") is False


async def test_a_wait_for_a_position_asks_the_replica_only(
    replica_pool: ReplicaPool, replica_control: ReplicaControl, owner: asyncpg.Connection
) -> None:
    await replica_control.pause()
    await owner.execute("UPDATE projection_tracking SET position = 8 WHERE name = 'followed'")
    assert await reached(replica_pool.primary) == 8
    async with replica_pool.connection_at(8, timeout=0.3) as conn:
        assert conn is None  # the replica stays at 7, however far the primary is
    async with replica_pool.connection_at(7, timeout=0.3) as conn:
        assert conn is not None and await reached(conn) == 7
    await replica_control.resume()
    async with replica_pool.connection_at(8, timeout=5.0) as conn:
        assert conn is not None and await conn.fetchval("SELECT pg_is_in_recovery()") is True
        assert not conn.is_in_transaction()  # no table locks held while it waits: see below


@pytest.mark.parametrize("statement_cache", [0])
async def test_behind_a_transaction_pooler_the_wait_and_the_reads_are_one_transaction_that_sees_replay(
    replica_pool: ReplicaPool, replica_control: ReplicaControl, owner: asyncpg.Connection
) -> None:
    """PgBouncer in transaction mode keeps a transaction on one server (one standby); in it,
    each statement still sees what the standby replays meanwhile."""
    await replica_control.pause()
    await owner.execute("UPDATE projection_tracking SET position = 9 WHERE name = 'followed'")

    async def read_at_9() -> tuple[bool, int | None]:
        async with replica_pool.connection_at(9, timeout=5.0) as conn:
            assert conn is not None
            return conn.is_in_transaction(), await reached(conn)

    waiting = asyncio.create_task(read_at_9())
    await asyncio.sleep(0.5)
    assert not waiting.done()
    await replica_control.resume()
    assert await asyncio.wait_for(waiting, 10) == (True, 9)


async def test_a_query_cancelled_by_replay_is_answered_by_the_primary(
    replica_pool: ReplicaPool, owner: asyncpg.Connection, streaming_pair: StreamingPair
) -> None:
    """With max_standby_streaming_delay = 0 the replica cancels a query whose rows a replayed
    VACUUM removes (SQLSTATE 40001) at once; the pool asks the primary instead."""
    replica_admin = await asyncpg.connect(streaming_pair.replica.dsn())
    try:
        await replica_admin.execute("ALTER SYSTEM SET max_standby_streaming_delay = 0")
        await replica_admin.execute("SELECT pg_reload_conf()")
        conflicts = fallbacks("conflict")
        slow = asyncio.create_task(
            replica_pool.fetchval(  # 3 s on the replica, none on the primary, which counts nothing
                "SELECT count(*) FROM readings, pg_sleep(CASE WHEN pg_is_in_recovery() THEN 3 ELSE 0 END)"
                " WHERE pg_is_in_recovery()"
            )
        )
        await asyncio.sleep(0.5)  # the replica's query holds its snapshot
        await owner.execute("DELETE FROM readings WHERE n > 500")
        await owner.execute("VACUUM readings")
        assert await asyncio.wait_for(slow, 10) == 0  # answered where pg_is_in_recovery() is false
        assert fallbacks("conflict") == conflicts + 1
        assert replica_pool.serving  # a conflict is no outage
    finally:
        await replica_admin.execute("ALTER SYSTEM RESET max_standby_streaming_delay")
        await replica_admin.execute("SELECT pg_reload_conf()")
        await replica_admin.close()
