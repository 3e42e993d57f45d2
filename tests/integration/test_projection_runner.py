"""The projection runner: batches and tracking in one transaction, resume after a crash, wake-ups."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence

import asyncpg
import pytest

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.pool import Connection
from ledger.ports import StoredEvent
from projections.projection import Envelope
from projections.runner import ProjectionLagError, ProjectionRunner, wait_for_position

pytestmark = pytest.mark.integration


class Crash(Exception):
    pass


class SeenPositions:
    """Records every position it is given in a table whose primary key refuses a second apply."""

    name = "seen"
    tables: tuple[str, ...] = ("seen_positions",)
    topics: frozenset[str] = frozenset({"test.happened"})

    def __init__(self, crash_at: int | None = None) -> None:
        self.crash_at = crash_at

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        await conn.executemany("INSERT INTO seen_positions VALUES ($1)", [(e.position,) for e in batch])
        if self.crash_at is not None and any(e.position >= self.crash_at for e in batch):
            raise Crash


class PassThrough:
    """Test events carry raw bytes, not a registered event class: hand them over undecoded."""

    def decode(self, topic: str, originator_id: uuid.UUID, version: int, state: bytes) -> StoredEvent:
        return StoredEvent(originator_id, version, topic, state)


@pytest.fixture
async def seen_table(database_url: str) -> None:
    owner = await asyncpg.connect(database_url)
    await owner.execute("CREATE TABLE seen_positions (position bigint PRIMARY KEY)")
    await owner.execute("GRANT ALL ON seen_positions TO optin_app")
    await owner.close()


async def fill(store: PostgresEventStore, n: int) -> None:
    for _ in range(n):
        await store.append([StoredEvent(uuid.uuid4(), 1, "test.happened", b"{}")])


def runner(pool: asyncpg.Pool, projection: SeenPositions, poll: float = 1.0) -> ProjectionRunner:
    r = ProjectionRunner(pool, [projection], batch_size=10, poll_interval=poll)
    r.mapper = PassThrough()  # type: ignore[assignment]
    return r


async def test_a_crash_between_batches_resumes_without_loss_or_double_apply(
    pool: asyncpg.Pool, store: PostgresEventStore, seen_table: None
) -> None:
    await fill(store, 45)
    with pytest.raises(Crash):
        await runner(pool, SeenPositions(crash_at=25)).catch_up(SeenPositions(crash_at=25))
    assert await pool.fetchval("SELECT position FROM projection_tracking WHERE name='seen'") == 20
    assert await pool.fetchval("SELECT max(position) FROM seen_positions") == 20

    again = SeenPositions()
    assert await runner(pool, again).catch_up(again) == 25
    positions = [r[0] for r in await pool.fetch("SELECT position FROM seen_positions ORDER BY 1")]
    assert positions == list(range(1, 46))


async def test_rebuild_replays_from_zero(
    pool: asyncpg.Pool, store: PostgresEventStore, seen_table: None
) -> None:
    await fill(store, 23)
    projection = SeenPositions()
    r = runner(pool, projection)
    await r.catch_up(projection)
    progress: list[tuple[int, int]] = []
    assert await r.rebuild(projection, lambda p, h: progress.append((p, h))) == 23
    assert progress[-1] == (23, 23)
    assert await pool.fetchval("SELECT count(*) FROM seen_positions") == 23


async def test_the_runner_wakes_on_notify_and_reads_can_wait_for_a_position(
    pool: asyncpg.Pool, store: PostgresEventStore, seen_table: None
) -> None:
    projection = SeenPositions()
    follow = asyncio.create_task(runner(pool, projection, poll=60).run_forever())
    try:
        await asyncio.sleep(0.2)  # let it catch up and start listening
        await fill(store, 3)
        await wait_for_position(pool, 3, ["seen"], timeout=5)
        assert await pool.fetchval("SELECT count(*) FROM seen_positions") == 3
    finally:
        follow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follow


async def test_waiting_for_an_unreached_position_times_out(pool: asyncpg.Pool) -> None:
    with pytest.raises(ProjectionLagError):
        await wait_for_position(pool, 10, ["seen"], timeout=0.1)


class TopicPositions(SeenPositions):
    """Like `SeenPositions`, for one topic of its own into a table of its own."""

    def __init__(self, name: str, topic: str) -> None:
        super().__init__()
        self.name, self.topics, self.tables = name, frozenset({topic}), (f"{name}_positions",)

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        assert all(e.topic in self.topics for e in batch)
        await conn.executemany(
            f"INSERT INTO {self.tables[0]} VALUES ($1)",
            [(e.position,) for e in batch],
        )


@pytest.fixture
async def odd_even_tables(database_url: str) -> None:
    """The tables of two `TopicPositions` projections, "odd" and "even"."""
    owner = await asyncpg.connect(database_url)
    for name in ("odd", "even"):
        await owner.execute(f"CREATE TABLE {name}_positions (position bigint PRIMARY KEY)")
        await owner.execute(f"GRANT ALL ON {name}_positions TO optin_app")
    await owner.close()


@pytest.mark.usefixtures("odd_even_tables")
async def test_following_projections_share_one_read_of_the_new_events_and_each_gets_its_own(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    """Rounds of the runner read the new events once for all projections (`projections/window.py`);
    one far behind (more than a batch) reads its own batches until it is near the head. Either
    way each projection gets every event of its topics once, in order, and nothing else."""

    async def append(n: int) -> None:
        for _ in range(n):
            head = await pool.fetchval("SELECT position FROM ledger_head")
            topic = "test.odd" if (head + 1) % 2 else "test.even"
            await store.append([StoredEvent(uuid.uuid4(), 1, topic, b"{}")])

    odd, even = TopicPositions("odd", "test.odd"), TopicPositions("even", "test.even")
    follower = ProjectionRunner(pool, [odd, even], batch_size=10, poll_interval=60)
    follower.mapper = PassThrough()  # type: ignore[assignment]
    await append(4)
    await follower.catch_up(odd)  # `even` is left behind; both are within a batch of the head
    await append(21)  # now both are more than a batch behind: they read their own at first
    follow = asyncio.create_task(follower.run_forever())
    try:
        await wait_for_position(pool, 25, ["odd", "even"], timeout=5)
        for _ in range(3):  # then rounds of a few events each, read once for both
            await append(3)
            await asyncio.sleep(0.05)
        await wait_for_position(pool, 34, ["odd", "even"], timeout=5)
    finally:
        follow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follow
    for name, first in (("odd", 1), ("even", 2)):
        got = [r[0] for r in await pool.fetch(f"SELECT position FROM {name}_positions ORDER BY 1")]
        assert got == list(range(first, 35, 2)), name


def test_a_window_gives_the_events_after_a_position_on_the_topics_asked_or_none_if_it_starts_later() -> None:
    from datetime import UTC, datetime

    from projections.window import Window

    at = datetime(2026, 1, 1, tzinfo=UTC)
    events = [Envelope(p, at, "a" if p % 2 else "b", None) for p in range(11, 16)]
    window = Window(after=10, head=16, envelopes=events)
    assert window.batch(9, {"a", "b"}) is None
    assert [e.position for e in window.batch(10, {"a", "b"}) or []] == [11, 12, 13, 14, 15]
    assert [e.position for e in window.batch(12, {"a"}) or []] == [13, 15]
    assert window.batch(16, {"a"}) == []


def test_a_window_says_which_projections_only_move_their_position() -> None:
    from datetime import UTC, datetime

    from projections.window import Window

    at = datetime(2026, 1, 1, tzinfo=UTC)
    events = [Envelope(p, at, "a" if p % 2 else "b", None) for p in range(11, 16)]
    window = Window(10, 16, events, {"behind": 9, "quiet": 14, "busy": 12, "current": 16})
    assert window.quiet("behind", {"a"}) is False  # before the window: reads its own
    assert window.quiet("unknown", {"a"}) is False  # no tracked position yet
    assert window.quiet("quiet", {"b"}) is True  # after 14, only 15 ("a"): nothing of "b"
    assert window.quiet("busy", {"a"}) is False  # 13 and 15 to apply
    assert window.quiet("current", {"a"}) is None  # at the head: nothing to do


@pytest.mark.usefixtures("odd_even_tables")
async def test_projections_with_nothing_to_apply_move_together_unless_their_lock_is_held(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    """Only "test.odd" events are appended: `even` has nothing to apply, so its position moves
    with the window's head, without a transaction of its own; while its lock is held (as by a
    rebuild swapping in) it stays, and it moves once the lock is free."""

    async def append_odd(n: int) -> None:
        for _ in range(n):
            await store.append([StoredEvent(uuid.uuid4(), 1, "test.odd", b"{}")])

    odd, even = TopicPositions("odd", "test.odd"), TopicPositions("even", "test.even")
    # `even` first: were it caught up in a transaction of its own, its held lock would stall the
    # round before `odd`.
    follower = ProjectionRunner(pool, [even, odd], batch_size=10, poll_interval=60)
    follower.mapper = PassThrough()  # type: ignore[assignment]
    await append_odd(2)
    await follower.catch_up(odd)
    await follower.catch_up(even)  # both tracked at 2, inside the next windows
    follow = asyncio.create_task(follower.run_forever())
    try:
        await append_odd(3)
        await wait_for_position(pool, 5, ["odd", "even"], timeout=5)
        async with pool.acquire() as blocker:
            await blocker.execute("SELECT pg_advisory_lock(hashtext('projection:even'))")
            await append_odd(3)
            await wait_for_position(pool, 8, ["odd"], timeout=5)
            await asyncio.sleep(0.2)
            assert await follower.positions() == {"odd": 8, "even": 5}
            await blocker.execute("SELECT pg_advisory_unlock(hashtext('projection:even'))")
        await append_odd(1)  # the next round
        await wait_for_position(pool, 9, ["odd", "even"], timeout=5)
    finally:
        follow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follow
    assert [r[0] for r in await pool.fetch("SELECT position FROM odd_positions ORDER BY 1")] == list(
        range(1, 10)
    )
    assert await pool.fetchval("SELECT count(*) FROM even_positions") == 0
