"""Load an aggregate from its events, let it decide, append what it recorded: the write path."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.codec import LedgerMapper
from ledger.errors import NotFoundError
from ledger.ports import EventStore, RecordedEvent, StoredEvent

A = TypeVar("A", bound=Aggregate)


class Streams:
    """Several streams read at once (`Repository.read`): aggregates replayed from them on demand,
    and their recorded events (`events`). What one read saw, never kept past the command that made it."""

    def __init__(self, mapper: LedgerMapper, events: dict[UUID, list[RecordedEvent]]) -> None:
        self.mapper = mapper
        self.events = events  # stream id → its recorded events, in version order

    def get(self, cls: type[A], aggregate_id: UUID) -> A:
        """As `Repository.get`, from what was read (`aggregate_id` must be one of the streams)."""
        return _replay(self.mapper, cls, aggregate_id, [r.stored() for r in self.events[aggregate_id]])

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        try:
            return self.get(cls, aggregate_id)
        except NotFoundError:
            return None


class Repository:
    """Aggregates in and out of an `EventStore`, through the ledger's mapper."""

    def __init__(self, store: EventStore, mapper: LedgerMapper | None = None) -> None:
        self.store = store
        self.mapper = mapper or LedgerMapper()

    async def get(self, cls: type[A], aggregate_id: UUID) -> A:
        """Replay one stream into an aggregate; `NotFoundError` when it has no events."""
        return _replay(self.mapper, cls, aggregate_id, await self.store.read_stream(aggregate_id))

    async def read(self, *stream_ids: UUID) -> Streams:
        """Several streams in one read of the store, to replay aggregates from (`Streams.get`)."""
        return Streams(self.mapper, await self.store.read_streams(stream_ids))

    async def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """Like `get`, but None when the aggregate does not exist."""
        try:
            return await self.get(cls, aggregate_id)
        except NotFoundError:
            return None

    async def save(self, *aggregates: Aggregate) -> int:
        """Append every pending event of `aggregates` in one atomic call; return the position."""
        events = [self.mapper.to_stored_event(e) for a in aggregates for e in a.collect_events()]
        if not events:
            return await self.store.head()
        return await self.store.append(events)

    async def update(self, cls: type[A], aggregate_id: UUID, command: Callable[[A], None]) -> int:
        """Load, call `command` on the aggregate, save; return the new position."""
        aggregate = await self.get(cls, aggregate_id)
        command(aggregate)
        return await self.save(aggregate)


def _replay(mapper: LedgerMapper, cls: type[A], aggregate_id: UUID, events: list[StoredEvent]) -> A:
    aggregate: A | None = None
    for stored in events:
        event = mapper.to_domain_event(stored)
        aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
    if aggregate is None or not isinstance(aggregate, cls):
        raise NotFoundError(f"no {cls.__name__.lower()} with id {aggregate_id}")
    return aggregate
