"""The verification aggregate: one one-time code, proving control of a contact's address.

A code is six digits, valid ten minutes, good for one confirmation; five wrong attempts lock it.
Only a keyed hash of the code is kept for checking (and the code itself sealed with the
contact's key, for the sender). Every outcome is an event: issued, confirmed, failed, locked,
expired. Time is passed in (`now`), never read here, so rules replay and test deterministically.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from enum import Enum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.vocabulary import Action, Actor, Channel

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5


class Attempt(Enum):
    CONFIRMED = "confirmed"
    WRONG = "wrong"
    LOCKED = "locked"
    EXPIRED = "expired"
    USED = "used"


class Verification(Aggregate):
    """A code sent to a contact, optionally carrying a consent change to apply once confirmed."""

    TOPIC = "verification"

    class Created(Aggregate.Created):
        """A code was issued (`code_hash` checks attempts; `sealed_code` is for the sender)."""

        TOPIC = "verification.issued"
        contact_id: UUID
        channel: Channel
        code_hash: bytes
        sealed_code: bytes
        expires_at: datetime
        optin_id: UUID | None
        action: Action | None
        actor: Actor

    class Confirmed(Aggregate.Event):
        TOPIC = "verification.confirmed"
        contact_id: UUID
        at: datetime

    class Failed(Aggregate.Event):
        TOPIC = "verification.failed"
        contact_id: UUID
        attempt: int
        at: datetime

    class Locked(Aggregate.Event):
        TOPIC = "verification.locked"
        contact_id: UUID
        at: datetime

    class Expired(Aggregate.Event):
        TOPIC = "verification.expired"
        contact_id: UUID
        at: datetime

    @event(Created)
    def __init__(
        self,
        *,
        contact_id: UUID,
        channel: Channel,
        code_hash: bytes,
        sealed_code: bytes,
        expires_at: datetime,
        optin_id: UUID | None,
        action: Action | None,
        actor: Actor,
    ) -> None:
        self.contact_id = contact_id
        self.channel: Channel = channel
        self.code_hash = code_hash
        self.expires_at = expires_at
        self.optin_id = optin_id
        self.action: Action | None = action
        self.failures = 0
        self.confirmed = False
        self.locked = False
        self.expired = False

    @property
    def open(self) -> bool:
        return not (self.confirmed or self.locked or self.expired)

    def attempt(self, code_hash: bytes, now: datetime) -> Attempt:
        """Check one attempt (constant time); record what happened; say it."""
        if self.confirmed:
            return Attempt.USED
        if self.locked:
            return Attempt.LOCKED
        if self.expired or now >= self.expires_at:
            self.expire(now)
            return Attempt.EXPIRED
        if hmac.compare_digest(code_hash, self.code_hash):
            self._confirmed(contact_id=self.contact_id, at=now)
            return Attempt.CONFIRMED
        self._failed(contact_id=self.contact_id, attempt=self.failures + 1, at=now)
        if self.failures >= MAX_ATTEMPTS:
            self._locked(contact_id=self.contact_id, at=now)
            return Attempt.LOCKED
        return Attempt.WRONG

    def expire(self, now: datetime) -> None:
        if self.open and now >= self.expires_at:
            self._expired(contact_id=self.contact_id, at=now)

    # Follow-up events repeat the contact id so each one says whose it is (timelines need it).
    @event(Confirmed)
    def _confirmed(self, contact_id: UUID, at: datetime) -> None:
        self.confirmed = True

    @event(Failed)
    def _failed(self, contact_id: UUID, attempt: int, at: datetime) -> None:
        self.failures = attempt

    @event(Locked)
    def _locked(self, contact_id: UUID, at: datetime) -> None:
        self.locked = True

    @event(Expired)
    def _expired(self, contact_id: UUID, at: datetime) -> None:
        self.expired = True


def issue_verification(
    verification_id: UUID,
    *,
    contact_id: UUID,
    channel: Channel,
    code_hash: bytes,
    sealed_code: bytes,
    now: datetime,
    optin_id: UUID | None = None,
    action: Action | None = None,
    actor: Actor,
) -> Verification:
    # The id is chosen first because the code's hash is bound to it.
    return Verification._create(
        Verification.Created,
        id=verification_id,
        contact_id=contact_id,
        channel=channel,
        code_hash=code_hash,
        sealed_code=sealed_code,
        expires_at=now + CODE_TTL,
        optin_id=optin_id,
        action=action,
        actor=actor,
    )
