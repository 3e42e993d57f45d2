"""The ledger on PostgreSQL (asyncpg): atomic, optimistic per stream, gapless, hash-chained.

Appends from concurrent tasks are grouped: while one batch is in the database the next ones
gather, then go in a single `ledger_append` call: one round trip, one commit. The batch is chained
here, from the head this process last wrote or saw; the function checks that head under the row
lock and either writes everything or answers why not (another writer moved the head, or a stream
version already exists), so the lock is held for microseconds, not round trips.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from adapters.postgres.pool import Connection
from ledger.chain import canonical_parts, epoch_micros
from ledger.errors import ConflictError
from ledger.ports import RecordedEvent, StoredEvent

_APPEND = (
    "SELECT head_position, head_hash, conflicts FROM ledger_append("
    "$1, $2::uuid[], $3::bigint[], $4::text[], $5::bytea[], $6::bytea[], $7::int[], $8)"
)
_LOCK_HEAD = "SELECT position, hash FROM ledger_head FOR UPDATE"
_CONFLICTS = "SELECT ledger_conflicts($1::uuid[], $2::bigint[], $3::int[])"
_CONFLICT_SQLSTATE = "OL409"  # raised by ledger_append: a stream version already exists


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
    head_moved: int = 0


class PostgresEventStore:
    """`ledger.ports.EventStore` on an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, *, max_batch_events: int = 5000) -> None:
        self._pool = pool
        self._max_batch_events = max_batch_events
        self._pending: list[_Call] = []
        self._flusher: asyncio.Task[None] | None = None
        self._head: tuple[int, bytes] | None = None
        self.stats = AppendStats()

    async def append(self, events: Sequence[StoredEvent]) -> int:
        if not events:
            raise ValueError("nothing to append")
        keys = {(_uuid(e.originator_id), e.originator_version) for e in events}
        if len(keys) != len(events):
            raise ConflictError("the same stream version appears twice in one append")
        call = _Call(events, asyncio.get_running_loop().create_future(), keys)
        self._pending.append(call)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_pending())
        # The flush runs in its own task: a caller that gives up does not cancel the write.
        return await call.future

    async def _flush_pending(self) -> None:
        try:
            while self._pending:
                batch: list[_Call] = []
                size = 0
                while self._pending and (
                    not batch or size + len(self._pending[0].events) <= self._max_batch_events
                ):
                    call = self._pending.pop(0)
                    batch.append(call)
                    size += len(call.events)
                await self._flush(batch)
        finally:
            self._flusher = None

    async def _flush(self, batch: list[_Call]) -> None:
        try:
            calls = _without_inner_conflicts(batch)
            if calls:
                async with self._pool.acquire() as conn:
                    await self._write(conn, calls)
        except BaseException as e:
            self._head = None  # the outcome is unknown: re-read the head next time
            for call in batch:
                _settle(call.future, error=e)
            if not isinstance(e, Exception):
                raise

    async def _write(self, conn: Connection, calls: list[_Call]) -> None:
        head = self._head or _as_head(await conn.fetchrow("SELECT position, hash FROM ledger_head"))
        while calls:
            outcome = await _try_append(conn, head, calls)
            if outcome.moved:  # another process appended: chain again while holding the lock
                self.stats.head_moved += 1
                async with conn.transaction():
                    head = _as_head(await conn.fetchrow(_LOCK_HEAD))
                    outcome = await _try_append(conn, head, calls)
            if outcome.conflicted:
                calls = await _drop_conflicts(conn, calls)
                continue
            position = head[0]
            for call in calls:
                position += len(call.events)
                _settle(call.future, position)
            self.stats.batches += 1
            self.stats.events += position - head[0]
            self._head = outcome.head
            return

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
        return [RecordedEvent(*r) for r in rows]

    async def read_after(self, position: int, limit: int) -> list[RecordedEvent]:
        return await read_after(self._pool, position, limit)

    async def head(self) -> int:
        value = await self._pool.fetchval("SELECT position FROM ledger_head")
        return int(value)

    async def close(self) -> None:
        """Wait until every append already handed to the store has been answered."""
        while self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)


async def read_after(conn: asyncpg.Pool | Connection, position: int, limit: int) -> list[RecordedEvent]:
    """Up to `limit` events after `position`, in ledger order (a pool or one connection)."""
    rows = await conn.fetch(
        "SELECT notification_id, originator_id, originator_version, topic, state, recorded_at, hash "
        "FROM events WHERE notification_id > $1 ORDER BY notification_id LIMIT $2",
        position,
        limit,
    )
    return [RecordedEvent(*r) for r in rows]


@dataclass(frozen=True, slots=True)
class _Outcome:
    head: tuple[int, bytes]
    moved: bool = False
    conflicted: bool = False


async def _try_append(conn: Connection, head: tuple[int, bytes], calls: list[_Call]) -> _Outcome:
    """Chain `calls` onto `head` and ask the database to write them (see `ledger_append`)."""
    recorded_at = datetime.now(UTC)
    micros = epoch_micros(recorded_at)
    sha256 = hashlib.sha256
    position, prev = head
    ids, versions, topics, states, hashes, call_nos = [], [], [], [], [], []
    for no, call in enumerate(calls):
        for e in call.events:
            position += 1
            prev = sha256(
                prev
                + canonical_parts(
                    position, _uuid(e.originator_id), e.originator_version, e.topic, e.state, micros
                )
            ).digest()
            ids.append(e.originator_id)
            versions.append(e.originator_version)
            topics.append(e.topic)
            states.append(e.state)
            hashes.append(prev)
            call_nos.append(no)
    try:
        row = await conn.fetchrow(
            _APPEND, head[0], ids, versions, topics, states, hashes, call_nos, recorded_at
        )
    except asyncpg.PostgresError as e:
        if e.sqlstate != _CONFLICT_SQLSTATE:
            raise
        return _Outcome(head, conflicted=True)
    assert row is not None
    new_head = (int(row["head_position"]), bytes(row["head_hash"]))
    return _Outcome(new_head, moved=row["conflicts"] is None)


async def _drop_conflicts(conn: Connection, calls: list[_Call]) -> list[_Call]:
    """Fail the calls whose stream versions already exist; return the others."""
    ids = [e.originator_id for c in calls for e in c.events]
    versions = [e.originator_version for c in calls for e in c.events]
    call_nos = [no for no, c in enumerate(calls) for _ in c.events]
    conflicts = set(await conn.fetchval(_CONFLICTS, ids, versions, call_nos))
    if not conflicts:
        raise RuntimeError("ledger_append reported a conflict that ledger_conflicts cannot find")
    for no in conflicts:
        _settle(calls[no].future, error=_conflict(calls[no]))
    return [c for no, c in enumerate(calls) if no not in conflicts]


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def _as_head(row: asyncpg.Record | None) -> tuple[int, bytes]:
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
