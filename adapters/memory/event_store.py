"""The ledger in memory: atomic, optimistic per stream, gapless and hash-chained like PostgreSQL's.

Same contract as `adapters.postgres.event_store`: an append writes all its events or none; one
that names a stream version already stored (or the same one twice) raises `ConflictError` and
writes nothing; positions follow each other in commit order; every row is chained onto the one
before with `ledger.chain`, so the same verifier checks both stores. Recording times come from
an injectable clock, so tests can put events at the instants they need.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from adapters.clock import SystemClock
from ledger.chain import GENESIS_HASH, ChainRecord, link
from ledger.errors import ConflictError
from ledger.ports import Clock, RecordedEvent, StoredEvent


class InMemoryEventStore:
    """`ledger.ports.EventStore` in a list, for one process (tests, demos, the unit test world)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._rows: list[RecordedEvent] = []  # row n sits at index n - 1
        self._streams: dict[UUID, list[RecordedEvent]] = {}  # each in version order
        self._head_hash = GENESIS_HASH

    async def append(self, events: Sequence[StoredEvent]) -> int:
        if not events:
            raise ValueError("nothing to append")
        keys = [(_uuid(e.originator_id), e.originator_version) for e in events]
        if len(set(keys)) != len(keys):
            raise ConflictError("the same stream version appears twice in one append")
        # Let other tasks run first, as a database round trip would: concurrent appends interleave
        # here, and everything after this line runs without yielding, so it is atomic.
        await asyncio.sleep(0)
        taken = sorted({str(i) for i, v in keys if self._has(i, v)})
        if taken:
            raise ConflictError(f"stream {', '.join(taken)} was changed by someone else; reload and retry")
        recorded_at = _utc(self._clock.now())
        for (originator_id, version), e in zip(keys, events, strict=True):
            self._write(originator_id, version, e.topic, bytes(e.state), recorded_at)
        return len(self._rows)

    def _has(self, originator_id: UUID, version: int) -> bool:
        stream = self._streams.get(originator_id, [])
        at = bisect.bisect_left(stream, version, key=_version)
        return at < len(stream) and stream[at].originator_version == version

    def _write(
        self, originator_id: UUID, version: int, topic: str, state: bytes, recorded_at: datetime
    ) -> None:
        record = ChainRecord(len(self._rows) + 1, originator_id, version, topic, state, recorded_at)
        self._head_hash = link(self._head_hash, record)
        row = RecordedEvent(
            record.notification_id, originator_id, version, topic, state, recorded_at, self._head_hash
        )
        self._rows.append(row)
        bisect.insort(self._streams.setdefault(originator_id, []), row, key=_version)

    async def read_stream(self, originator_id: UUID, after_version: int = 0) -> list[StoredEvent]:
        return [r.stored() for r in self._stream(originator_id) if r.originator_version > after_version]

    async def read_stream_recorded(self, originator_id: UUID) -> list[RecordedEvent]:
        return list(self._stream(originator_id))

    async def read_streams(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[RecordedEvent]]:
        return {_uuid(i): list(self._stream(i)) for i in originator_ids}

    async def read_after(self, position: int, limit: int) -> list[RecordedEvent]:
        start = max(position, 0)
        return self._rows[start : start + max(limit, 0)]

    async def head(self) -> int:
        return len(self._rows)

    def _stream(self, originator_id: UUID) -> list[RecordedEvent]:
        return self._streams.get(_uuid(originator_id), [])


def _version(row: RecordedEvent) -> int:
    return row.originator_version


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # a naive time has no epoch to hash: refuse it rather than guess
        raise ValueError("the clock must give time zone aware datetimes")
    return moment.astimezone(UTC)


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
