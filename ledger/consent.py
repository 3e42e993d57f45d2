"""The consent aggregate: one contact, one program, one channel; every change with its evidence.

States: `unknown` (no decision yet), `pending` (asked, not yet decided), `opted_in`, `opted_out`.
An opt-in takes effect only with proof that the contact controls the address: a confirmed
verification, or the act of replying from that phone (an SMS keyword). Opting out needs no proof
when the channel itself proves identity (keyword, one-click unsubscribe) or when staff or an
application record one the contact asked them for (a reason is optional); it is never harder
than opting in.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event

from ledger.errors import InvalidCommandError
from ledger.vocabulary import Action, Actor, Channel, ConsentStatus, Source

_NAMESPACE = uuid.UUID("6f6e0c4e-6c65-4467-9e72-636f6e73656e")


def consent_id(contact_id: UUID, optin_id: UUID, channel: Channel) -> UUID:
    """The one stream for a (contact, program, channel): deterministic, so no lookup is needed."""
    return uuid.uuid5(_NAMESPACE, f"/consent/{contact_id}/{optin_id}/{channel}")


class Evidence(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Why a consent event happened, and what proves it. Personal parts are sealed with the
    contact's key (`sealed_client`: IP and user agent; `sealed_reason`: staff's note).
    `relay`: the application (API key) or staff member who passed on the contact's code; absent
    in events recorded before it existed, which decode with None."""

    actor: Actor
    source: Source
    verification_id: UUID | None = None
    disclosure_version: int | None = None
    disclosure_sha256: str | None = None
    keyword: str | None = None
    sealed_client: bytes | None = None
    sealed_reason: bytes | None = None
    relay: Actor | None = None


class Consent(Aggregate):
    TOPIC = "consent"

    class Created(Aggregate.Created):
        """The stream for this (contact, program, channel) was opened."""

        TOPIC = "consent.opened"
        contact_id: UUID
        optin_id: UUID
        channel: Channel

    class Requested(Aggregate.Event):
        TOPIC = "consent.requested"
        contact_id: UUID
        optin_id: UUID
        channel: Channel
        action: Action
        verification_id: UUID
        evidence: Evidence

    class Granted(Aggregate.Event):
        TOPIC = "consent.granted"
        contact_id: UUID
        optin_id: UUID
        channel: Channel
        evidence: Evidence

    class Withdrawn(Aggregate.Event):
        TOPIC = "consent.withdrawn"
        contact_id: UUID
        optin_id: UUID
        channel: Channel
        evidence: Evidence

    class Lapsed(Aggregate.Event):
        """A pending request ended without a decision (its code expired or was locked)."""

        TOPIC = "consent.lapsed"
        contact_id: UUID
        optin_id: UUID
        channel: Channel
        verification_id: UUID

    @event(Created)
    def __init__(self, *, contact_id: UUID, optin_id: UUID, channel: Channel) -> None:
        self.contact_id = contact_id
        self.optin_id = optin_id
        self.channel: Channel = channel
        self.status: ConsentStatus = "unknown"
        self.pending: UUID | None = None
        self.pending_action: Action | None = None
        self.pending_evidence: Evidence | None = None

    def request(self, action: Action, verification_id: UUID, evidence: Evidence) -> None:
        self._requested(self.contact_id, self.optin_id, self.channel, action, verification_id, evidence)

    def grant(self, evidence: Evidence) -> None:
        if evidence.verification_id is None and evidence.source != "sms_keyword":
            raise InvalidCommandError("an opt-in needs proof of control of the address")
        self._granted(self.contact_id, self.optin_id, self.channel, evidence)

    def withdraw(self, evidence: Evidence) -> None:
        self._withdrawn(self.contact_id, self.optin_id, self.channel, evidence)

    def lapse(self, verification_id: UUID) -> None:
        if self.pending == verification_id:
            self._lapsed(self.contact_id, self.optin_id, self.channel, verification_id)

    # The applied methods take the stream's identity too: every event carries it, so each one
    # tells on its own which contact, program and channel it is about.
    @event(Requested)
    def _requested(
        self,
        contact_id: UUID,
        optin_id: UUID,
        channel: Channel,
        action: Action,
        verification_id: UUID,
        evidence: Evidence,
    ) -> None:
        self.pending, self.pending_action, self.pending_evidence = verification_id, action, evidence
        if self.status == "unknown":
            self.status = "pending"

    @event(Granted)
    def _granted(self, contact_id: UUID, optin_id: UUID, channel: Channel, evidence: Evidence) -> None:
        self.status = "opted_in"
        self.pending = self.pending_action = self.pending_evidence = None

    @event(Withdrawn)
    def _withdrawn(self, contact_id: UUID, optin_id: UUID, channel: Channel, evidence: Evidence) -> None:
        self.status = "opted_out"
        self.pending = self.pending_action = self.pending_evidence = None

    @event(Lapsed)
    def _lapsed(self, contact_id: UUID, optin_id: UUID, channel: Channel, verification_id: UUID) -> None:
        if self.status == "pending":
            self.status = "unknown"
        self.pending = self.pending_action = self.pending_evidence = None


def open_consent(contact_id: UUID, optin_id: UUID, channel: Channel) -> Consent:
    return Consent._create(
        Consent.Created,
        id=consent_id(contact_id, optin_id, channel),
        contact_id=contact_id,
        optin_id=optin_id,
        channel=channel,
    )


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The consent in force at some instant, and the event that set it."""

    status: ConsentStatus
    since: datetime | None = None
    position: int | None = None
    topic: str | None = None


def decision_at(history: Sequence[tuple[int, datetime, Consent.Event]], at: datetime) -> Decision:
    """Replay a consent stream's events recorded up to `at`; name the event that set the status.

    `history` holds (ledger position, recorded_at, event) in stream order.
    """
    aggregate: Consent | None = None
    decision = Decision(status="unknown")
    for position, recorded_at, change in history:
        if recorded_at > at:
            break
        aggregate = change.mutate(aggregate)
        assert aggregate is not None
        if aggregate.status != decision.status:
            decision = Decision(
                status=aggregate.status,
                since=recorded_at,
                position=position,
                topic=getattr(change, "TOPIC", None),
            )
    return decision
