"""The event store on real PostgreSQL: optimistic streams, a gapless ordered ledger, a hash chain."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.pool import create_pool
from ledger.chain import ChainRecord, first_break
from ledger.errors import ConflictError
from ledger.merkle import event_leaf
from ledger.ports import RecordedEvent, StoredEvent

pytestmark = pytest.mark.integration


def ev(stream: uuid.UUID, version: int, body: bytes = b"{}") -> StoredEvent:
    return StoredEvent(stream, version, "test.happened", body)


def verify(rows: list[RecordedEvent]) -> object:
    return first_break(
        (
            ChainRecord(
                r.notification_id,
                r.originator_id,
                r.originator_version,
                r.topic,
                r.state,
                r.recorded_at,
            ),
            r.hash,
        )
        for r in rows
    )


async def test_append_and_read_back(store: PostgresEventStore) -> None:
    stream = uuid.uuid4()
    position = await store.append([ev(stream, 1), ev(stream, 2)])
    assert position == 2
    assert [e.originator_version for e in await store.read_stream(stream)] == [1, 2]
    assert [e.originator_version for e in await store.read_stream(stream, after_version=1)] == [2]
    assert await store.head() == 2


async def test_concurrent_appends_to_one_stream_exactly_one_wins_per_version(
    store: PostgresEventStore,
) -> None:
    stream = uuid.uuid4()
    for version in range(1, 6):
        results = await asyncio.gather(
            *(store.append([ev(stream, version, b'{"w":%d}' % w)]) for w in range(20)),
            return_exceptions=True,
        )
        assert sum(isinstance(r, int) for r in results) == 1
        assert sum(isinstance(r, ConflictError) for r in results) == 19
    assert [e.originator_version for e in await store.read_stream(stream)] == [1, 2, 3, 4, 5]


async def test_a_conflicting_call_does_not_sink_the_rest_of_its_batch(
    store: PostgresEventStore,
) -> None:
    taken = uuid.uuid4()
    await store.append([ev(taken, 1)])
    others = [uuid.uuid4() for _ in range(10)]
    results = await asyncio.gather(
        store.append([ev(taken, 1)]),
        *(store.append([ev(s, 1), ev(s, 2)]) for s in others),
        return_exceptions=True,
    )
    assert isinstance(results[0], ConflictError)
    assert all(isinstance(r, int) for r in results[1:])
    assert sorted(results[1:]) == list(range(3, 23, 2))  # type: ignore[type-var]
    assert verify(await store.read_after(0, 1000)) is None


async def test_writers_and_a_follower_see_every_event_once_in_commit_order(
    store: PostgresEventStore,
) -> None:
    writers, per_writer = 16, 40
    done = asyncio.Event()
    seen: list[int] = []

    async def writer() -> None:
        stream = uuid.uuid4()
        for version in range(1, per_writer + 1):
            await store.append([ev(stream, version)])

    async def follower() -> None:
        last = 0
        while not (done.is_set() and last == await store.head()):
            for e in await store.read_after(last, 100):
                seen.append(e.notification_id)
                last = e.notification_id
            await asyncio.sleep(0)

    tail = asyncio.create_task(follower())
    await asyncio.gather(*(writer() for _ in range(writers)))
    done.set()
    await tail
    assert seen == list(range(1, writers * per_writer + 1))


async def test_two_stores_on_one_database_keep_one_chain(pool: asyncpg.Pool) -> None:
    """Two processes' stores: each chains from a head the other may have moved."""
    a, b = PostgresEventStore(pool), PostgresEventStore(pool)

    async def writer(store: PostgresEventStore) -> None:
        stream = uuid.uuid4()
        for version in range(1, 31):
            await store.append([ev(stream, version)])

    await asyncio.gather(writer(a), writer(b), writer(a), writer(b))
    rows = await a.read_after(0, 1000)
    assert [r.notification_id for r in rows] == list(range(1, 121))
    assert verify(rows) is None
    assert a.stats.rechained + b.stats.rechained > 0  # chained again in the database


async def test_a_batch_chained_onto_a_head_another_process_moved_is_chained_again_in_the_database(
    pool: asyncpg.Pool,
) -> None:
    """Store `a` predicts its next batch onto the head it left; `b` appends meanwhile. The
    database chains `a`'s batch again onto the real head, in the same call, with the bytes
    ledger/chain.py and ledger/merkle.py give (topic and state lengths included)."""
    a, b = PostgresEventStore(pool), PostgresEventStore(pool)
    await a.append([ev(uuid.uuid4(), 1)])
    await b.append([ev(uuid.uuid4(), 1), ev(uuid.uuid4(), 1, b"")])
    stream = uuid.uuid4()
    body = '{"note":"ünïcødé ✓"}'.encode() * 40
    assert await a.append([ev(stream, 1, body), ev(stream, 2)]) == 5
    assert (a.stats.rechained, a.stats.head_moved) == (1, 0)
    rows = await a.read_after(0, 10)
    assert [(r.notification_id, r.originator_id, r.originator_version) for r in rows[3:]] == [
        (4, stream, 1),
        (5, stream, 2),
    ]
    assert verify(rows) is None
    leaves = await pool.fetch("SELECT notification_id, leaf_hash FROM events ORDER BY notification_id")
    for r, leaf in zip(rows, leaves, strict=True):
        record = ChainRecord(
            r.notification_id, r.originator_id, r.originator_version, r.topic, r.state, r.recorded_at
        )
        assert bytes(leaf["leaf_hash"]) == event_leaf(record)
    head = await pool.fetchrow("SELECT position, hash FROM ledger_head")
    assert head is not None
    assert (head["position"], bytes(head["hash"])) == (5, rows[-1].hash)
    assert await a.append([ev(stream, 3)]) == 6  # its prediction is right again
    assert a.stats.rechained == 1


async def test_pipelined_batches_with_conflicts_and_a_second_writer_never_fork_the_chain(
    pool: asyncpg.Pool,
) -> None:
    """Batches are chained onto heads not yet committed; conflicts and another store's writes
    make those predictions wrong. Every answer must still match the row at its position."""
    a, b = PostgresEventStore(pool), PostgresEventStore(pool)
    answers: list[tuple[int, uuid.UUID, int]] = []
    refused = 0

    async def writer(store: PostgresEventStore, n: int) -> None:
        nonlocal refused
        stream, version = uuid.uuid4(), 0
        for step in range(30):
            # every fifth call of some writers repeats the version just written: a conflict
            repeat = n % 3 == 0 and step % 5 == 4
            version = version if repeat else version + 1
            try:
                answers.append((await store.append([ev(stream, version)]), stream, version))
            except ConflictError:
                refused += 1
                assert repeat

    await asyncio.gather(*(writer(a if n % 4 else b, n) for n in range(24)))
    rows = await a.read_after(0, 10_000)
    assert [r.notification_id for r in rows] == list(range(1, len(answers) + 1))
    assert verify(rows) is None
    by_position = {r.notification_id: (r.originator_id, r.originator_version) for r in rows}
    assert all(by_position[p] == (s, v) for p, s, v in answers)
    assert refused == 8 * 6
    assert a.stats.head_moved + a.stats.rechained > 0  # predictions did go wrong, and were caught


async def test_an_idle_writer_splits_a_crowd_into_two_batches_one_behind_the_other(
    store: PostgresEventStore,
) -> None:
    """With nothing in the database, 32 waiting calls go as two pipelined batches (so PostgreSQL
    has the second while Python answers the first's callers); a few waiting go as one."""
    few = await asyncio.gather(*(store.append([ev(uuid.uuid4(), 1)]) for _ in range(10)))
    assert (store.stats.batches, store.stats.pipelined) == (1, 0)
    crowd = await asyncio.gather(*(store.append([ev(uuid.uuid4(), 1)]) for _ in range(32)))
    assert (store.stats.batches, store.stats.pipelined) == (3, 1)
    assert sorted(few + crowd) == list(range(1, 43))
    assert verify(await store.read_after(0, 100)) is None


async def test_while_another_process_appends_a_crowd_goes_as_one_batch(pool: asyncpg.Pool) -> None:
    """Splitting a crowd keeps PostgreSQL busy while Python answers half of it; with another
    writer on the same head, PostgreSQL is busy anyway and halves would only double the commits."""
    a, b = PostgresEventStore(pool), PostgresEventStore(pool)
    await a.append([ev(uuid.uuid4(), 1)])
    await b.append([ev(uuid.uuid4(), 1)])
    await a.append([ev(uuid.uuid4(), 1)])
    assert a.stats.rechained == 1
    crowd = await asyncio.gather(*(a.append([ev(uuid.uuid4(), 1)]) for _ in range(32)))
    assert (a.stats.batches, a.stats.pipelined) == (3, 0)
    assert sorted(crowd) == list(range(4, 36))
    assert verify(await a.read_after(0, 100)) is None


@pytest.mark.parametrize("in_flight", [1, 2, 3])
async def test_the_writer_gives_its_connections_back_once_appends_stop(
    database_url: str, in_flight: int
) -> None:
    """It keeps pool connections between batches, never after: a pool closed without closing
    the store (as scripts do) must not wait for them."""
    pool = await create_pool(database_url, role="optin_app", min_size=1, max_size=6)
    try:
        store = PostgresEventStore(pool, max_in_flight=in_flight)

        async def writer() -> None:
            stream = uuid.uuid4()
            for version in range(1, 41):
                await store.append([ev(stream, version)])

        await asyncio.gather(*(writer() for _ in range(32)))
        assert store.stats.events == 32 * 40
        for _ in range(100):  # the last batch's task gives them back right after answering
            if pool.get_idle_size() == pool.get_size():
                break
            await asyncio.sleep(0.01)
        assert pool.get_idle_size() == pool.get_size()
    finally:
        await asyncio.wait_for(pool.close(), timeout=10)


async def test_the_chain_recomputed_in_python_matches_the_stored_hashes(
    store: PostgresEventStore, pool: asyncpg.Pool
) -> None:
    for i in range(5):
        await store.append([ev(uuid.uuid4(), 1, b'{"i":%d}' % i), ev(uuid.uuid4(), 1)])
    rows = await store.read_after(0, 100)
    assert len(rows) == 10
    assert verify(rows) is None
    head = await pool.fetchrow("SELECT position, hash FROM ledger_head")
    assert head is not None
    assert (head["position"], bytes(head["hash"])) == (10, rows[-1].hash)


async def test_the_service_role_cannot_update_or_delete_events(
    store: PostgresEventStore, pool: asyncpg.Pool
) -> None:
    await store.append([ev(uuid.uuid4(), 1)])
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_user") == "optin_app"
        for sql in ("UPDATE events SET topic = 'x'", "DELETE FROM events", "TRUNCATE events"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)


async def test_the_trigger_refuses_rewrites_even_by_the_owner(
    store: PostgresEventStore, database_url: str
) -> None:
    await store.append([ev(uuid.uuid4(), 1)])
    owner = await asyncpg.connect(database_url)
    try:
        for sql in ("UPDATE events SET state = '\\x00'", "DELETE FROM events", "TRUNCATE events"):
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await owner.execute(sql)
        assert await owner.fetchval("SELECT count(*) FROM events") == 1
    finally:
        await owner.close()


async def test_a_caller_that_gives_up_does_not_cancel_its_write(
    store: PostgresEventStore,
) -> None:
    stream = uuid.uuid4()
    task = asyncio.create_task(store.append([ev(stream, 1)]))
    await asyncio.sleep(0)
    task.cancel()
    await store.close()
    assert [e.originator_version for e in await store.read_stream(stream)] == [1]


async def test_eventsourcing_recorder_reads_the_same_table(
    store: PostgresEventStore, database_url: str
) -> None:
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    from adapters.postgres.dsn import libpq_params

    stream = uuid.uuid4()
    await store.append([ev(stream, 1, b'{"a":1}'), ev(stream, 2, b'{"a":2}')])
    p = libpq_params(database_url)
    datastore = PostgresDatastore(p["dbname"], p["host"], p["port"], p["user"], p["password"])
    try:
        recorder = PostgresApplicationRecorder(datastore, events_table_name="events")
        notifications = await asyncio.to_thread(recorder.select_notifications, 1, 10)
        assert [(n.id, n.originator_version, n.state) for n in notifications] == [
            (1, 1, b'{"a":1}'),
            (2, 2, b'{"a":2}'),
        ]
        assert await asyncio.to_thread(recorder.max_notification_id) == 2
    finally:
        datastore.close()
