"""Follow the ledger and keep every projection's read model and tracking position in step.

Each batch is applied and its tracking position written in one transaction, under a per-projection
advisory lock, so a crash between batches resumes exactly where it stopped (nothing skipped,
nothing applied twice) and a rebuild never interleaves with the live runner. The runner wakes on
LISTEN/NOTIFY from `ledger_append_onto` and polls as a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

import asyncpg
import structlog

from adapters.postgres.availability import availability_of
from adapters.postgres.pool import Connection
from adapters.resilience import forever, wait_or_timeout
from adapters.runtime import collector_paused
from ledger.codec import LedgerMapper
from projections.projection import Envelope, Projection, Rebuildable, Rebuilder, lock_key
from projections.shadow import shadowed, swap_in
from projections.window import ADVANCE_QUIET, EVENTS, Window, decode, read_window

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]
"""Called with (position reached, head) after each batch of a rebuild."""


class ProjectionRunner:
    """Runs a set of projections against one database."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        projections: Sequence[Projection],
        *,
        mapper: LedgerMapper | None = None,
        batch_size: int = 1000,
        poll_interval: float = 1.0,
    ) -> None:
        self.pool = pool
        self.projections = {p.name: p for p in projections}
        self.mapper = mapper or LedgerMapper()
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._topics = sorted({t for p in projections for t in p.topics})

    async def run_forever(self) -> None:
        """Catch up, then follow the ledger until cancelled.

        Any failure (a lost connection, or an event a projection cannot apply) is logged with its
        cause and retried with backoff; nothing is skipped, so `/ready` shows the lag growing.
        """
        await forever(self._follow, "projection runner", availability=availability_of(self.pool))

    async def _follow(self) -> None:
        async with self.pool.acquire() as listener:
            await listener.add_listener("ledger_events", self._notified)
            try:
                while True:
                    self._wake.clear()
                    names = list(self.projections)
                    window = await read_window(listener, names, self._topics, self.batch_size, self.mapper)
                    for projection in await self._advance_quiet(listener, window):
                        await self.catch_up(projection, window)
                    await wait_or_timeout(self._wake, self.poll_interval)
            except asyncpg.InterfaceError as e:
                # asyncpg gives a connection the server closed back to its pool at once, and the
                # listener held here then answers only "released back to the pool": the database
                # went away (an outage, a restart), which `forever` waits out without an error.
                if "released back to the pool" in str(e):
                    raise ConnectionResetError("the projection runner's connection was closed") from e
                raise
            finally:
                with contextlib.suppress(Exception):  # the connection may be mid-cancellation
                    await listener.remove_listener("ledger_events", self._notified)

    async def _advance_quiet(self, conn: Connection, window: Window | None) -> list[Projection]:
        """Move the projections with nothing to apply up to the window's head, in one statement;
        the ones left to catch up (those at the head already are neither)."""
        if window is None:
            return list(self.projections.values())
        quiet: list[Projection] = []
        busy: list[Projection] = []
        for name, projection in self.projections.items():
            state = window.quiet(name, projection.topics)
            if state is not None:
                (quiet if state else busy).append(projection)
        if quiet:
            await conn.execute(ADVANCE_QUIET, [p.name for p in quiet], window.head)
        return busy

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def catch_up(self, projection: Projection, window: Window | None = None) -> int:
        """Apply batches until the projection reaches the ledger head (the `window`'s, when it
        is given and starts early enough: its events are taken from it); return events applied."""
        applied = 0
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                await _lock(conn, projection.name)
                position, head = await _tracked_and_head(conn, projection.name)
                batch = window.batch(position, projection.topics) if window else None
                if window is None or batch is None:
                    reached, count, head = await self._advance(conn, projection, position, head)
                elif position >= window.head:
                    reached, count, head = position, 0, window.head
                else:
                    reached, head = window.head, window.head
                    count = await self._apply(conn, projection, batch, window.head)
            applied += count
            if reached >= head:
                return applied
            window = None

    async def rebuild(self, projection: Projection, progress: Progress | None = None) -> int:
        """Rebuild the read model from the ledger without making its readers wait; return the
        events applied.

        The new model is built up to the head the rebuild starts at, in temporary copies of its
        tables (projections/shadow.py) on a connection of its own, while readers, and the live
        runner, go on with the old one. Then one short transaction, under the projection's lock,
        applies what was appended since and swaps the rows in: readers see the old read model
        until it commits, the complete new one after, never half of one. A rebuild that stops
        half-way (a crash, a kill) leaves the old one as it was, at its tracked position, and
        the next rebuild starts again from zero.

        Events are read ahead and decoded on a second connection, so that work overlaps with the
        database applying the previous batch; a `Rebuildable` projection folds in memory, and
        each batch folds while the database writes what the previous one produced. The cyclic
        garbage collector rests meanwhile: its full passes over the batches in memory cost a
        third of the time, and nothing a rebuild allocates needs it.
        """
        head = int(await self.pool.fetchval("SELECT position FROM ledger_head"))
        batches: asyncio.Queue[tuple[list[Envelope], int] | None] = asyncio.Queue(maxsize=3)

        async def read_ahead() -> None:
            async with self.pool.acquire() as reader:
                position = 0
                while position < head:
                    upto = min(position + self.batch_size, head)
                    rows = await self._fetch(reader, projection, position, upto)
                    await batches.put((self._decode(rows), upto))
                    position = upto
            await batches.put(None)

        async with self.pool.acquire() as conn, shadowed(conn, projection.tables) as schema:
            reading = asyncio.create_task(read_ahead())
            try:
                with collector_paused():
                    applied = await self._build(conn, batches, projection, head, progress)
                    await reading
            finally:
                reading.cancel()
            return applied + await self._swap(conn, projection, schema, head)

    async def _build(
        self,
        conn: Connection,
        batches: asyncio.Queue[tuple[list[Envelope], int] | None],
        projection: Projection,
        head: int,
        progress: Progress | None,
    ) -> int:
        """Apply the batches `read_ahead` queues to the shadow tables; return events applied."""
        applied = 0
        async with conn.transaction():
            if isinstance(projection, Rebuildable):
                rebuilder = projection.rebuilder({table: table for table in projection.tables})
                return await _fold_and_write(conn, rebuilder, batches, head, progress)
            while (item := await batches.get()) is not None:
                rows, upto = item
                if rows:
                    await projection.apply(conn, rows)
                applied += len(rows)
                if progress:
                    progress(upto, head)
        return applied

    async def _swap(self, conn: Connection, projection: Projection, schema: str, built_to: int) -> int:
        """Under the projection's lock: apply to the shadow tables what was appended since they
        were built, swap their rows in, track the position; return events applied."""
        applied, position = 0, built_to
        async with conn.transaction():
            await _lock(conn, projection.name)
            await _tracked_position(conn, projection.name)
            while True:
                position, count, head = await self._advance(conn, projection, position)
                applied += count
                if position >= head:
                    break
            await swap_in(conn, schema, projection.tables)
            await self._apply(conn, projection, [], position)
        return applied

    async def _advance(
        self, conn: Connection, projection: Projection, position: int, head: int | None = None
    ) -> tuple[int, int, int]:
        """Apply the next batch after `position`; return (new position, events applied, head).
        `head`: the ledger head, if just read in this transaction."""
        if head is None:
            head = int(await conn.fetchval("SELECT position FROM ledger_head"))
        upto = min(position + self.batch_size, head)
        if upto <= position:
            return position, 0, head
        rows = await self._fetch(conn, projection, position, upto)
        return upto, await self._apply(conn, projection, self._decode(rows), upto), head

    @staticmethod
    async def _fetch(
        conn: Connection, projection: Projection, position: int, upto: int
    ) -> list[asyncpg.Record]:
        return await conn.fetch(EVENTS, position, upto, list(projection.topics))

    def _decode(self, rows: list[asyncpg.Record]) -> list[Envelope]:
        return decode(self.mapper, rows)

    @staticmethod
    async def _apply(conn: Connection, projection: Projection, batch: list[Envelope], upto: int) -> int:
        """Apply `batch` and move the tracking position to `upto`, on `conn`."""
        if batch:
            await projection.apply(conn, batch)
        await conn.execute(
            "UPDATE projection_tracking SET position = $2 WHERE name = $1", projection.name, upto
        )
        return len(batch)

    async def positions(self) -> dict[str, int]:
        """Each projection's tracked position (0 before its first batch)."""
        rows = await self.pool.fetch(
            "SELECT name, position FROM projection_tracking WHERE name = ANY($1::text[])",
            list(self.projections),
        )
        found = {r["name"]: int(r["position"]) for r in rows}
        return {name: found.get(name, 0) for name in self.projections}


async def _fold_and_write(
    conn: Connection,
    rebuilder: Rebuilder,
    batches: asyncio.Queue[tuple[list[Envelope], int] | None],
    head: int,
    progress: Progress | None,
) -> int:
    """Fold each queued batch while the database runs the write the previous one gave."""
    applied = 0
    writing: asyncio.Task[None] | None = None
    try:
        while (item := await batches.get()) is not None:
            envelopes, upto = item
            write = rebuilder.fold(envelopes)
            if writing is not None:
                await writing
                writing = None
            if write is not None:
                writing = asyncio.create_task(write(conn))
                await asyncio.sleep(0)  # let it send its statement before the next fold
            applied += len(envelopes)
            if progress:
                progress(upto, head)
        if writing is not None:
            await writing
            writing = None
        if (last := rebuilder.finish()) is not None:
            await last(conn)
    finally:
        if writing is not None:  # the rebuild failed or was cancelled: its transaction rolls back
            writing.cancel()
            await asyncio.wait([writing])
    return applied


async def _lock(conn: Connection, name: str) -> None:
    await conn.execute(f"SELECT pg_advisory_xact_lock({lock_key('$1')})", name)


async def _tracked_and_head(conn: Connection, name: str) -> tuple[int, int]:
    """The projection's tracked position (its row made on first use) and the ledger head, in one
    round trip (after the lock: a position read before it could be stale)."""
    row = await conn.fetchrow(
        "SELECT (SELECT position FROM projection_tracking WHERE name = $1), "
        "(SELECT position FROM ledger_head)",
        name,
    )
    assert row is not None
    if row[0] is None:
        return await _tracked_position(conn, name), int(row[1])
    return int(row[0]), int(row[1])


async def _tracked_position(conn: Connection, name: str) -> int:
    await conn.execute("INSERT INTO projection_tracking (name) VALUES ($1) ON CONFLICT DO NOTHING", name)
    return int(await conn.fetchval("SELECT position FROM projection_tracking WHERE name = $1", name))


class ProjectionLagError(TimeoutError):
    """The read models did not reach the asked position in time."""


async def read_models_position(db: asyncpg.Pool | Connection, names: Sequence[str]) -> int | None:
    """The position every projection in `names` has reached on this database (None while one of
    them has no tracking row yet). A streaming replica answers for its own point of replay."""
    reached: int | None = await db.fetchval(
        "SELECT coalesce(min(position), 0) FROM projection_tracking WHERE name = ANY($1::text[])"
        " HAVING count(*) = cardinality($1::text[])",
        list(names),
    )
    return reached


async def wait_for_position(
    db: asyncpg.Pool | Connection, position: int, names: Sequence[str], timeout: float = 2.0
) -> None:
    """Return once every projection in `names` has reached `position`, else raise after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.002
    while True:
        reached = await read_models_position(db, names)
        if reached is not None and reached >= position:
            return
        if loop.time() >= deadline:
            raise ProjectionLagError(f"read models have not reached position {position} yet")
        await asyncio.sleep(min(delay, max(deadline - loop.time(), 0)))
        delay = min(delay * 2, 0.05)
