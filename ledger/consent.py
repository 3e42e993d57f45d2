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
from typing import NamedTuple
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event

from ledger.errors import InvalidCommandError
from ledger.import_provenance import Imported
from ledger.vocabulary import Action, Actor, Channel, ConsentStatus, Source

_NAMESPACE = uuid.UUID("6f6e0c4e-6c65-4467-9e72-636f6e73656e")


def consent_id(contact_id: UUID, optin_id: UUID, channel: Channel) -> UUID:
    """The one stream for a (contact, program, channel): deterministic, so no lookup is needed."""
    return uuid.uuid5(_NAMESPACE, f"/consent/{contact_id}/{optin_id}/{channel}")


class Evidence(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Why a consent event happened, and what proves it. Personal parts are sealed with the
    contact's key (`sealed_client`: IP and user agent; `sealed_reason`: staff's note).
    `relay`: the application (API key) or staff member who passed on the contact's code; absent
    in events recorded before it existed, which decode with None. Email feedback names the
    message it was about and, for a bounce, its RFC 3463 status code."""

    actor: Actor
    source: Source
    verification_id: UUID | None = None
    disclosure_version: int | None = None
    disclosure_sha256: str | None = None
    keyword: str | None = None
    sealed_client: bytes | None = None
    sealed_reason: bytes | None = None
    relay: Actor | None = None
    message_id: UUID | None = None
    status_code: str | None = None
    imported: Imported | None = None  # source `import`: the sender's statement, not our proof


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
        # An import is the one exception: the sender states its own proof (kept as provenance,
        # never shown as verified here).
        imported = evidence.source == "import" and evidence.imported is not None
        if evidence.verification_id is None and evidence.source != "sms_keyword" and not imported:
            raise InvalidCommandError("an opt-in needs proof of control of the address")
        self._granted(self.contact_id, self.optin_id, self.channel, evidence)

    def withdraw(self, evidence: Evidence) -> None:
        self._withdrawn(self.contact_id, self.optin_id, self.channel, evidence)

    def lapse(self, verification_id: UUID) -> None:
        if self.pending == verification_id:
            self._lapsed(self.contact_id, self.optin_id, self.channel, verification_id)

    # The applied methods take the stream's identity too: every event carries it, so each one
    # tells on its own which contact, program and channel it is about. The status itself moves by
    # `consent_step`, the one transition rule the decision (ledger/decision.py) folds with too.
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
        self._step(verification_id=verification_id, requested=True)
        self.pending_action, self.pending_evidence = action, evidence

    @event(Granted)
    def _granted(self, contact_id: UUID, optin_id: UUID, channel: Channel, evidence: Evidence) -> None:
        self._step(status="opted_in")

    @event(Withdrawn)
    def _withdrawn(self, contact_id: UUID, optin_id: UUID, channel: Channel, evidence: Evidence) -> None:
        self._step(status="opted_out")

    @event(Lapsed)
    def _lapsed(self, contact_id: UUID, optin_id: UUID, channel: Channel, verification_id: UUID) -> None:
        self._step(verification_id=verification_id)

    def _step(
        self,
        *,
        status: ConsentStatus | None = None,
        verification_id: UUID | None = None,
        requested: bool = False,
    ) -> None:
        step = _transition(ConsentStep(self.status, self.pending), status, verification_id, requested)
        self.status, self.pending = step
        if self.pending is None:
            self.pending_action = self.pending_evidence = None


class ConsentStep(NamedTuple):
    """The consent stream's own state: its status and the verification a request waits for."""

    status: ConsentStatus
    pending: UUID | None


def consent_step(state: ConsentStep, change: Consent.Event) -> ConsentStep:
    """The state after one consent event (the rule the aggregate and the decision share)."""
    match change:
        case Consent.Requested():
            return _transition(state, None, change.verification_id, True)
        case Consent.Granted():
            return _transition(state, "opted_in", None, False)
        case Consent.Withdrawn():
            return _transition(state, "opted_out", None, False)
        case Consent.Lapsed():
            return _transition(state, None, change.verification_id, False)
    return state


def _transition(
    state: ConsentStep, decided: ConsentStatus | None, verification_id: UUID | None, requested: bool
) -> ConsentStep:
    """A decision clears any pending request; a request makes `pending` only if nothing was
    decided before; a request that lapses leaves the status as it was before it."""
    if decided is not None:
        return ConsentStep(decided, None)
    if requested:
        return ConsentStep("pending" if state.status == "unknown" else state.status, verification_id)
    if state.pending != verification_id:
        return state  # a request that is no longer the pending one
    return ConsentStep("unknown" if state.status == "pending" else state.status, None)


def open_consent(contact_id: UUID, optin_id: UUID, channel: Channel) -> Consent:
    return Consent._create(
        Consent.Created,
        id=consent_id(contact_id, optin_id, channel),
        contact_id=contact_id,
        optin_id=optin_id,
        channel=channel,
    )
