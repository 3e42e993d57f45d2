"""Ports the domain needs from the outside world, and the records that cross them."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol
from uuid import UUID

import msgspec
from eventsourcing.persistence import StoredEvent

from ledger.login_throttle import ThrottlePolicy, ThrottleVerdict
from ledger.send_failure import SendError
from ledger.vocabulary import Channel

__all__ = [
    "AddressBook",
    "AdminDirectory",
    "ApiKeyMinter",
    "Background",
    "Clock",
    "Codes",
    "Credentials",
    "DataKeys",
    "ErasureLog",
    "EventStore",
    "Job",
    "Locks",
    "LoginThrottle",
    "NewApiKey",
    "OutboxQueue",
    "Outgoing",
    "PasswordChecking",
    "PasswordHashing",
    "RateLimiter",
    "ReadModels",
    "RecordedEvent",
    "Sealer",
    "SendError",
    "Sender",
    "StaffAccess",
    "StaffDirectory",
    "StaffLogins",
    "StoredEvent",
    "VerificationLookup",
]


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

    async def read_streams(self, originator_ids: Sequence[UUID]) -> dict[UUID, list[RecordedEvent]]:
        """Several streams at once, as `read_stream_recorded` reads one: one read (one round trip,
        one snapshot), every id asked for a key of the answer ([] for a stream with no events)."""
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


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    """One message as a sender gets it: the address and the text in clear, never stored."""

    message_id: UUID
    contact_id: UUID
    kind: str
    channel: Channel
    to: str
    text: str
    subject: str | None = None
    html: str | None = None
    unsubscribe_url: str | None = None
    unsubscribe_mailto: str | None = None


class Sender(Protocol):
    """A channel's provider. `send` returns the provider's id for the message."""

    name: str

    async def send(self, outgoing: Outgoing) -> str: ...


class Job(msgspec.Struct, frozen=True, kw_only=True):
    """A message (or a verification's code) due to go out."""

    message_id: UUID
    contact_id: UUID
    verification_id: UUID | None = None


class OutboxQueue(Protocol):
    """The jobs the outbox projection made: leased to one worker at a time."""

    async def claim(self, limit: int) -> list[Job]:
        """Jobs due now, leased to this worker."""
        ...

    async def hold(self, message_id: UUID, until: datetime) -> None:
        """Do not offer this job again before `until`."""
        ...


class Locks(Protocol):
    """Named mutual exclusion across every process of the service (not only this one)."""

    def hold(self, name: str) -> AbstractAsyncContextManager[None]:
        """Held from entry to exit; another holder of `name` waits until then."""
        ...


class ReadModels(Protocol):
    """The projections behind every read, which follow the ledger a moment behind its writes."""

    async def settle(self, position: int, names: Sequence[str], timeout: float = 2.0) -> bool:
        """Wait (at most `timeout` s) until the read models `names` include `position`; False if
        they still lag then (the change shows when they catch up)."""
        ...


class Background(Protocol):
    """Work handed off so an answer neither waits for it nor reveals how long it took."""

    def spawn(self, work: Coroutine[Any, Any, None], what: str) -> None: ...


class Credentials(Protocol):
    """Staff logins kept out of the ledger: the email's keyed hash and the password hash."""

    async def claim_email(
        self, email_index: bytes, user_id: UUID, password_hash: str | None, email: str | None = None
    ) -> None:
        """Bind the email to the account; `ConflictError` when another account has it. `email`:
        the address itself, kept (sealed, out of the ledger) for admins to read."""
        ...

    async def release_email(self, user_id: UUID) -> None: ...

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None: ...


class PasswordHashing(Protocol):
    async def hash(self, password: str) -> str:
        """A slow, salted hash of `password` (for `Credentials`; never in an event)."""
        ...


class NewApiKey(NamedTuple):
    """A service API key as issued: the secret is shown once, only `hash` is kept."""

    secret: str
    prefix: str
    hash: bytes


class ApiKeyMinter(Protocol):
    def new(self) -> NewApiKey:
        """A fresh random key and the keyed hash that authentication will look it up by."""
        ...


class AdminDirectory(Protocol):
    async def admin_ids(self) -> list[UUID]:
        """Every account the users read model lists as an admin, enabled or not."""
        ...


class VerificationLookup(Protocol):
    """The verifications read model, as contact self-service asks it."""

    async def latest_open_self_service(self, contact_id: UUID, now: datetime) -> UUID | None:
        """The newest open code the contact asked for themselves (none attached to a program)."""
        ...

    async def latest_confirmed(self, contact_id: UUID) -> UUID | None:
        """The newest code the contact confirmed: the proof their session rests on."""
        ...


class StaffLogins(Protocol):
    async def login(self, email_index: bytes) -> tuple[UUID, str | None] | None:
        """The account with this email's keyed hash and its password hash (None: it has none)."""
        ...


class PasswordChecking(Protocol):
    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no hash, as slow as a real check, and no."""
        ...


class StaffAccess(Protocol):
    """What a staff account may do now, as the users read model says."""

    @property
    def disabled(self) -> bool: ...

    @property
    def credential_version(self) -> int: ...


class StaffDirectory(Protocol):
    async def user_access(self, user_id: UUID) -> StaffAccess | None: ...


class LoginThrottle(Protocol):
    """Counters of login attempts by key, shared by every process (`ledger.login_throttle`)."""

    async def attempt(self, key: bytes, policy: ThrottlePolicy, now: datetime) -> ThrottleVerdict:
        """Count one attempt, or refuse it while an earlier delay runs (then nothing is counted)."""
        ...

    async def forgive(self, key: bytes, now: datetime, *, reset: bool) -> None:
        """After a success: forget every attempt of `key` (`reset`), or only one."""
        ...
