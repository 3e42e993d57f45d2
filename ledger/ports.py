"""Ports the domain needs from the outside world, and the records that cross them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent

__all__ = ["EventStore", "RecordedEvent", "StoredEvent"]


class RecordedEvent(NamedTuple):
    """A stored event as the ledger recorded it: its global position, time and chain hash.

    A named tuple rather than a dataclass: replays and followers build one per row, and a tuple
    is built several times faster than a frozen dataclass."""

    notification_id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    recorded_at: datetime
    hash: bytes

    def stored(self) -> StoredEvent:
        return StoredEvent(self.originator_id, self.originator_version, self.topic, self.state)


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

    async def read_stream_recorded(self, originator_id: UUID) -> list[RecordedEvent]:
        """One stream's events with their ledger positions and times (for `as_of` answers)."""
        ...

    async def read_after(self, position: int, limit: int) -> list[RecordedEvent]:
        """Up to `limit` events with `notification_id > position`, in ledger order."""
        ...

    async def head(self) -> int:
        """The position of the last committed event (0 when the ledger is empty)."""
        ...


class DataKeys(Protocol):
    """Per-contact data keys, kept wrapped by the key-encryption key, apart from the events."""

    async def create(self, contact_id: UUID) -> bytes:
        """The contact's key, made on first call (idempotent under concurrency)."""
        ...

    async def get(self, contact_id: UUID) -> bytes | None:
        """The key, or None once the contact is erased."""
        ...

    async def get_many(self, contact_ids: Sequence[UUID]) -> dict[UUID, bytes]:
        """Keys of the contacts that still have one."""
        ...

    async def delete(self, contact_id: UUID) -> None:
        """Crypto-shred: everything sealed with this key becomes unreadable, forever."""
        ...


class AddressBook(Protocol):
    """The mutable lookup from an address's blind index to its live contact (never in events)."""

    async def find(self, blind_index: bytes) -> UUID | None: ...

    async def claim(self, blind_index: bytes, contact_id: UUID) -> UUID:
        """Bind the index to `contact_id` unless already bound; return the contact it is bound to."""
        ...

    async def release(self, contact_id: UUID) -> None: ...


class Sealer(Protocol):
    """Symmetric encryption with per-contact keys, and the keyed blind index of an address."""

    def seal(self, key: bytes, plaintext: str) -> bytes: ...

    def open(self, key: bytes | None, sealed: bytes) -> str | None:
        """The plaintext, or None when the key is gone (erased) or does not fit."""
        ...

    def blind_index(self, normalised_address: str) -> bytes: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class Codes(Protocol):
    """One-time codes: drawn from a CSPRNG, checked by a keyed hash (the code itself is not kept)."""

    def new(self) -> str: ...

    def hash(self, verification_id: UUID, code: str) -> bytes: ...


class RateLimiter(Protocol):
    async def hit(self, bucket: str, limit: int, window: timedelta) -> int | None:
        """Count one hit; None if within `limit` per sliding `window`, else seconds to wait."""
        ...


class ErasureLog(Protocol):
    """Every erased contact id, kept where no backup of the ledger database can reach it, so a
    restore of an older backup can erase again whoever was erased after that backup was taken."""

    async def record(self, contact_id: UUID) -> None: ...

    async def erased(self) -> list[UUID]: ...
