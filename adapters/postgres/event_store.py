"""The ledger on PostgreSQL (asyncpg): atomic, optimistic per stream, gapless, hash-chained.

Appends from concurrent tasks are grouped: the calls that arrive while a batch is in the database
gather, then go in a single `ledger_append_rechained` call: one round trip, one commit. Commits take
turns on the head row's lock, which each holds until its WAL flush, so the ledger commits one
batch per flush and throughput is events per batch over flush time: a batch takes everyone
waiting. A second batch goes in while one is in flight (pipelined) only once as many events wait
as are in flight: it is chained here onto the head the first will leave, so Python chains and
encodes it while PostgreSQL commits the other; sent any earlier it would be small and still cost
a whole flush. The exception is a writer with nothing in the database: its batch would leave
PostgreSQL idle while Python answers the callers and gathers the next one, so once at least
`_SPLIT_AT` events wait it sends them as two batches, one right behind the other. From then on
one batch is in the database while Python answers the other's callers (`bench append`, 32
writers, in runs taking turns with one batch of 32 at a time: median ratio to raw INSERTs 1.69×
against 1.41×).

The function (`ledger_append_rechained`, migration 110) checks that head (position and hash)
under the row lock. If it is the predicted one, the rows go in with the hashes computed here. If
another process appended in between, the function chains the batch again itself, onto the real
head, with the same bytes (ledger/chain.py), and answers where the batch went: one round trip
still, so several writer processes (API replicas, the outbox worker) do not queue behind each
other's retries (two processes of 16 writers: 19–27k events/s together; 4.5–5.7k when each
refused batch was chained again in Python under the lock, three more round trips). A batch
whose predicted head is not in yet (it overtook its predecessor, or that one failed) is refused:
it waits for its predecessor and is sent again, then, if still refused, chained again here under
the lock. So the chain can never fork.

The chain is hashed here, not in SQL, on the common path: a PL/pgSQL loop over `sha256()` gives
the same bytes but was no faster end to end, and does that work under the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from operator import attrgetter
from typing import TypeAlias
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from adapters import metrics
from adapters.postgres import ledger_reads
from adapters.postgres.availability import classify
from adapters.postgres.pool import Connection
from adapters.postgres.waiting_pool import discard
from ledger.chain import epoch_micros
from ledger.chain_batch import chain_events
from ledger.errors import ConflictError
from ledger.ports import RecordedEvent, StoredEvent

_APPEND = (
    "SELECT after_position, after_hash, head_position, head_hash, written FROM ledger_append_rechained("
    "$1, $2, $3::uuid[], $4::bigint[], $5::text[], $6::bytea[], $7::bytea[], $8, $9::bytea[])"
)
_LOCK_HEAD = "SELECT position, hash FROM ledger_head FOR UPDATE"
_CONFLICTS = "SELECT ledger_conflicts($1::uuid[], $2::bigint[], $3::int[])"
_CONFLICT_SQLSTATE = "OL409"  # raised by ledger_append_onto before migration 056

Head = tuple[int, bytes]
_Held: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"  # a pool connection the writer keeps
_QUIET = 0.05  # seconds without appends after which kept connections go back to the pool
_SPLIT_AT = 16  # events waiting, none in flight: sent as two batches (see the module's doc)
# Seconds after a batch was chained again in the database (another process appended) during
# which this store does not split: the other writers keep PostgreSQL busy, and halved batches
# would only double the commits (2 processes of 16 writers: 27k events/s whole, 14k split).
_SHARED_FOR = 1.0


@dataclass(slots=True)
class _Call:
    events: Sequence[StoredEvent]
    future: asyncio.Future[int]
    keys: set[tuple[UUID, int]] = field(default_factory=set)


@dataclass(slots=True)
class AppendStats:
    """Counters for benchmarks and readiness: how well appends are being grouped."""

    batches: int = 0
    events: int = 0
    head_moved: int = 0  # refused: what it was chained onto was not in yet; sent again
    pipelined: int = 0  # batches sent while another was still in the database
    rechained: int = 0  # chained again in the database: another process had appended


@dataclass(slots=True)
class _Batch:
    """Calls chained onto `after`: the rows `ledger_append_onto` takes, and the head they leave."""

    calls: list[_Call]
    after: Head
    head: Head
    recorded_at: datetime
    ids: list[UUID | str]
    versions: list[int]
    topics: list[str]
    states: list[bytes]
    hashes: list[bytes]
    leaves: list[bytes]  # each event's Merkle leaf hash (ledger/merkle.py), stored with it

    def arguments(self) -> tuple[object, ...]:
        rows = (self.ids, self.versions, self.topics, self.states, self.hashes)
        return (*self.after, *rows, self.recorded_at, self.leaves)


class PostgresEventStore:
    """`ledger.ports.EventStore` on an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, *, max_batch_events: int = 5000, max_in_flight: int = 2) -> None:
        self._pool = pool
        self._max_batch_events = max_batch_events
        self._max_in_flight = max_in_flight
        self._pending: deque[_Call] = deque()
        self._pending_events = 0
        self._flying_events = 0  # in the batches in the database
        self._grown: asyncio.Future[None] | None = None  # the flusher waits for enough to pipeline
        self._flusher: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._last: asyncio.Task[None] | None = None
        self._idle: list[_Held] = []  # kept between batches while appends keep coming
        self._reaper: asyncio.Task[None] | None = None
        self._head: Head | None = None  # where the last batch handed to the database leaves it
        self._loop: asyncio.AbstractEventLoop | None = None  # the pool's: see `_bind_loop`
        self._rechained_at = -_SHARED_FOR  # time.monotonic() of the last batch chained again
        self.stats = AppendStats()

    async def append(self, events: Sequence[StoredEvent]) -> int:
        if not events:
            raise ValueError("nothing to append")
        if len(events) == 1:  # the common case, without a comprehension's frame
            keys = {(_uuid(events[0].originator_id), events[0].originator_version)}
        else:
            keys = {(_uuid(e.originator_id), e.originator_version) for e in events}
            if len(keys) != len(events):
                raise ConflictError("the same stream version appears twice in one append")
        loop = self._loop or self._bind_loop()
        call = _Call(events, loop.create_future(), keys)
        self._pending.append(call)
        self._pending_events += len(events)
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush_pending())
        elif self._grown is not None and self._enough_waiting():
            _settle_none(self._grown)
        # The write runs in its own task: a caller that gives up does not cancel it.
        started = time.perf_counter()
        position = await call.future
        metrics.APPEND_SECONDS.observe(time.perf_counter() - started)
        return position

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        """The event loop, looked up once: `asyncio.get_running_loop()` makes a getpid() system
        call on every call (Python 3.11), a visible cost once per append on this path. A store
        lives on its pool's loop (asyncpg pools are bound to one), so it never changes."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    async def _flush_pending(self) -> None:
        try:
            while self._pending:
                if self._in_flight and not self._worth_pipelining():
                    await self._wait_for_room()
                    continue
                calls = _without_inner_conflicts(self._take_batch(self._batch_limit()))
                if calls:
                    await self._launch(calls)
        finally:
            self._flusher = None

    def _worth_pipelining(self) -> bool:
        """Whether to send a batch now, though another is in the database: it would wait for that
        one's commit and take a flush of its own, so only when a slot is free and as many events
        wait as are in flight (or a full batch)."""
        return len(self._in_flight) < self._max_in_flight and self._enough_waiting()

    def _enough_waiting(self) -> bool:
        return self._pending_events >= min(self._flying_events, self._max_batch_events)

    async def _wait_for_room(self) -> None:
        """Until a batch in flight is done, or enough appends arrived to pipeline the next."""
        self._grown = self._bind_loop().create_future()
        try:
            await asyncio.wait([*self._in_flight, self._grown], return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._grown = None

    def _batch_limit(self) -> int:
        """How many events the next batch may take: half of those waiting when none are in the
        database (the other half follows at once, pipelined), else a full batch; and a full
        batch while other processes are appending too (`_SHARED_FOR`)."""
        if (
            not self._in_flight
            and self._pending_events >= _SPLIT_AT
            and self._max_in_flight > 1
            and time.monotonic() - self._rechained_at > _SHARED_FOR
        ):
            return min((self._pending_events + 1) // 2, self._max_batch_events)
        return self._max_batch_events

    def _take_batch(self, limit: int) -> list[_Call]:
        batch: list[_Call] = []
        size = 0
        while self._pending and (not batch or size + len(self._pending[0].events) <= limit):
            call = self._pending.popleft()
            batch.append(call)
            size += len(call.events)
        self._pending_events -= size
        return batch

    async def _launch(self, calls: list[_Call]) -> None:
        """Chain `calls` onto the predicted head and start writing them."""
        previous = self._last
        if self._head is None:  # unknown (start, or after a failure): read it once the rest settled
            if previous is not None:
                await asyncio.wait([previous])
            try:
                self._head = _as_head(await self._pool.fetchrow("SELECT position, hash FROM ledger_head"))
            except Exception as e:
                for call in calls:
                    _settle(call.future, error=e)
                return
        batch = _chain(self._head, calls)
        self._head = batch.head
        if self._flying_events:
            self.stats.pipelined += 1
        self._flying_events += len(batch.ids)
        task = self._bind_loop().create_task(self._write(batch, previous))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        self._last = task

    async def _write(self, batch: _Batch, previous: asyncio.Task[None] | None) -> None:
        conn: _Held | None = None
        flying = len(batch.ids)
        try:
            conn = await self._kept() or await self._pool.acquire()
            written = await _try_append(conn, batch)
            if written is None:
                # Refused: it overtook the batch before it (usually), or that one failed. Once
                # that one is in, the same rows fit; otherwise chain again from the real head,
                # holding the lock (and let later batches re-read the head).
                self.stats.head_moved += 1
                metrics.APPEND_BATCHES_RESENT.inc()
                if previous is not None:
                    await asyncio.wait([previous])
                    if not _open(conn):  # dropped while we waited (nothing of ours was written)
                        conn = None
                        conn = await self._pool.acquire()
                    written = await _try_append(conn, batch)
                if written is None:
                    if self._last is not asyncio.current_task():
                        self._head = None
                    written = batch = await _append_locked(conn, batch.calls)
            if written is not batch:  # chained again in the database onto another process's
                self.stats.rechained += 1
                self._rechained_at = time.monotonic()
                metrics.APPEND_BATCHES_RECHAINED.inc()
            batch = written
            self._flying_events -= flying
            flying = 0
            self._answer(batch)
            self._keep(conn)
            conn = None
        except BaseException as e:
            self._flying_events -= flying
            if self._last is asyncio.current_task():
                self._head = None  # the outcome is unknown: re-read the head next time
            for call in batch.calls:
                _settle(call.future, error=e)
            if conn is not None:
                if classify(e) == "unreachable":  # the session was dropped: never reuse it
                    discard(conn)
                await self._give_back(conn)  # the pool resets it, or drops it if broken
            await self._release_idle()  # kept ones may be dropped too: let the pool check them
            if not isinstance(e, Exception):
                raise

    def _keep(self, conn: _Held) -> None:
        """Keep the connection for the next batch (saves the pool's acquire and release per
        batch: the callers just answered usually append again at once); the reaper gives the
        kept ones back once appends have stopped for a moment."""
        self._idle.append(conn)
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._release_when_quiet())

    async def _release_when_quiet(self) -> None:
        try:
            while self._idle:
                await asyncio.sleep(_QUIET)
                if not self._pending and not self._in_flight:
                    await self._release_idle()
        finally:
            self._reaper = None

    async def _kept(self) -> _Held | None:
        """A connection kept from an earlier batch that is still open. One the server dropped
        meanwhile (an outage) is given back instead: asyncpg may already have returned it to the
        pool, and using it then fails ("connection has been released back to the pool")."""
        while self._idle:
            conn = self._idle.pop()
            if _open(conn):
                return conn
            await self._give_back(conn)
        return None

    async def _release_idle(self) -> None:
        while self._idle:
            await self._give_back(self._idle.pop())

    async def _give_back(self, conn: _Held) -> None:
        """Release `conn` to the pool. After the server dropped a session, asyncpg may have freed
        its holder already ("release() called on a free connection holder", seen once in CI
        after a terminated backend): nothing is left to give back, and the error must not escape
        the writer's task as one nobody retrieves."""
        with contextlib.suppress(asyncpg.InternalClientError):
            await self._pool.release(conn)

    def _answer(self, batch: _Batch) -> None:
        if self._last is asyncio.current_task():
            self._head = batch.head  # differs from the prediction when the batch was chained again
        position = batch.after[0]
        for call in batch.calls:
            position += len(call.events)
            if not call.future.done():  # `_settle`, inline: once per call on the hot path
                call.future.set_result(position)
        self.stats.batches += 1
        self.stats.events += batch.head[0] - batch.after[0]
        metrics.APPEND_BATCH_EVENTS.observe(batch.head[0] - batch.after[0])
        metrics.LEDGER_HEAD.set(batch.head[0])

    async def read_stream(self, originator_id: UUID, after_version: int = 0) -> list[StoredEvent]:
        rows = await self._pool.fetch(
            "SELECT originator_id, originator_version, topic, state FROM events "
            "WHERE originator_id = $1 AND originator_version > $2 ORDER BY originator_version",
            originator_id,
            after_version,
        )
        return [StoredEvent(r[0], r[1], r[2], r[3]) for r in rows]

    async def read_stream_recorded(self, originator_id: UUID) -> list[RecordedEvent]:
        rows = await self._pool.fetch(
            "SELECT notification_id, originator_id, originator_version, topic, state, recorded_at, hash "
            "FROM events WHERE originator_id = $1 ORDER BY originator_version",
            originator_id,
        )
        return ledger_reads.recorded(rows)

    async def read_streams(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[RecordedEvent]]:
        found: dict[UUID, list[RecordedEvent]] = {_uuid(i): [] for i in originator_ids}
        if found:
            for event in await ledger_reads.streams(self._pool, list(found)):
                found[event.originator_id].append(event)
            for events in found.values():  # read in ledger order; a stream's is its versions'
                events.sort(key=attrgetter("originator_version"))
        return found

    async def read_after(self, position: int, limit: int) -> list[RecordedEvent]:
        return await read_after(self._pool, position, limit)

    async def head(self) -> int:
        value = await self._pool.fetchval("SELECT position FROM ledger_head")
        return int(value)

    async def close(self) -> None:
        """Wait until every append already handed to the store has been answered; give back the
        connections kept for the next batch."""
        while self._flusher is not None or self._in_flight:
            await asyncio.gather(
                *([self._flusher] if self._flusher else []), *self._in_flight, return_exceptions=True
            )
        if self._reaper is not None:
            self._reaper.cancel()
        await self._release_idle()


async def read_after(conn: asyncpg.Pool | Connection, position: int, limit: int) -> list[RecordedEvent]:
    """Up to `limit` events after `position`, in ledger order (a pool or one connection)."""
    rows = await conn.fetch(
        "SELECT notification_id, originator_id, originator_version, topic, state, recorded_at, hash "
        "FROM events WHERE notification_id > $1 ORDER BY notification_id LIMIT $2",
        position,
        limit,
    )
    return ledger_reads.recorded(rows)


def _chain(after: Head, calls: list[_Call]) -> _Batch:
    """Hash `calls` onto `after` (see ledger/chain.py), stamped with one recording time; and
    each event's Merkle leaf (ledger/merkle.py: SHA-256 of 0x00 and the same record bytes)."""
    recorded_at = datetime.now(UTC)
    events = [e for call in calls for e in call.events]
    hashes, leaves = chain_events(*after, events, epoch_micros(recorded_at))
    return _Batch(
        calls,
        after,
        (after[0] + len(events), hashes[-1] if hashes else after[1]),
        recorded_at,
        [e.originator_id for e in events],
        [e.originator_version for e in events],
        [e.topic for e in events],
        [e.state for e in events],
        hashes,
        leaves,
    )


async def _try_append(conn: Connection, batch: _Batch) -> _Batch | None:
    """Write `batch`: onto the head it was chained onto, or, if another process appended since,
    chained again in the database onto the real head (migration 110). The batch as written
    (where it went), or None: on a conflict, or when what it was chained onto is not in yet."""
    try:
        row = await conn.fetchrow(_APPEND, *batch.arguments())
    except asyncpg.PostgresError as e:
        if not _is_conflict(e):
            raise
        return None
    assert row is not None
    if not row[4]:
        return None
    after: Head = (row[0], bytes(row[1]))
    if after == batch.after:
        return batch
    return replace(batch, after=after, head=(row[2], bytes(row[3])), hashes=[], leaves=[])


async def _append_locked(conn: Connection, calls: list[_Call]) -> _Batch:
    """Under the head lock: fail the calls whose stream versions exist, chain and write the rest."""
    async with conn.transaction():
        head = _as_head(await conn.fetchrow(_LOCK_HEAD))
        ids = [e.originator_id for c in calls for e in c.events]
        versions = [e.originator_version for c in calls for e in c.events]
        call_nos = [no for no, c in enumerate(calls) for _ in c.events]
        conflicts = set(await conn.fetchval(_CONFLICTS, ids, versions, call_nos))
        for no in conflicts:
            _settle(calls[no].future, error=_conflict(calls[no]))
        batch = _chain(head, [c for no, c in enumerate(calls) if no not in conflicts])
        if batch.calls and await _try_append(conn, batch) is not batch:
            raise RuntimeError("the ledger head moved while this writer held its lock")
    return batch


def _open(conn: _Held) -> bool:
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:  # released to the pool already: not ours to use
        return False


def _is_conflict(e: asyncpg.PostgresError) -> bool:
    """A stream version that already exists: the unique index says so (migration 056 on), or the
    function did (before it)."""
    if isinstance(e, asyncpg.UniqueViolationError):
        return e.constraint_name == "events_stream_version"
    return e.sqlstate == _CONFLICT_SQLSTATE


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def _as_head(row: asyncpg.Record | None) -> Head:
    assert row is not None
    return int(row["position"]), bytes(row["hash"])


def _without_inner_conflicts(batch: list[_Call]) -> list[_Call]:
    """Fail, before the round trip, every call that collides with an earlier call of the batch."""
    seen: set[tuple[UUID, int]] = set()
    accepted = []
    for call in batch:
        if call.keys & seen:
            _settle(call.future, error=_conflict(call))
        else:
            seen |= call.keys
            accepted.append(call)
    return accepted


def _settle_none(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _settle(future: asyncio.Future[int], result: int = 0, error: BaseException | None = None) -> None:
    """Answer a caller, unless it stopped waiting (a cancelled caller's write still lands)."""
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _conflict(call: _Call) -> ConflictError:
    streams = sorted({str(e.originator_id) for e in call.events})
    return ConflictError(f"stream {', '.join(streams)} was changed by someone else; reload and retry")
