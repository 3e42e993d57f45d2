"""Ports the domain needs from the outside world, and the records that cross them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent

__all__ = ["EventStore", "RecordedEvent", "StoredEvent"]


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A stored event as the ledger recorded it: its global position, time and chain hash."""

    notification_id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    recorded_at: datetime
    hash: bytes


class EventStore(Protocol):
    """An append-only, hash-chained, gapless ledger of events, optimistic per stream."""

    async def append(self, events: Sequence[StoredEvent]) -> int:
        """Append atomically; return the position of the last event.

        Raises `ConflictError` when any (originator_id, originator_version) already exists.
        """
        ...

    async def read_stream(self, originator_id: UUID, after_version: int = 0) -> list[StoredEvent]:
        """The events of one stream, in version order."""
        ...

    async def read_after(self, position: int, limit: int) -> list[RecordedEvent]:
        """Up to `limit` events with `notification_id > position`, in ledger order."""
        ...

    async def head(self) -> int:
        """The position of the last committed event (0 when the ledger is empty)."""
        ...
