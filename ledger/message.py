"""The message aggregate: one message to one contact, from request to delivery, every step an event.

`requested` names who asked for what; then exactly one of `queued` (with the consent it relied
on), `blocked` (with the reason, nothing is ever sent) or `diverted` (no consent yet: the opt-in
invite went instead). A queued message is `sent`, `failed` and retried, `dead_lettered`, or
`cancelled` when consent changed before it left; a provider later reports `delivered` or
`undelivered`. Bodies and variables are personal data: sealed with the contact's key.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event

from ledger.errors import InvalidCommandError
from ledger.rendering import SmsLength
from ledger.send_failure import Failure, summary, upcast_legacy_failure
from ledger.template import TemplateKind
from ledger.vocabulary import Actor, Channel, Purpose

_NAMESPACE = uuid.UUID("5d0c9a61-3b7e-4f25-8c1a-6d657373616e")

Rule = Literal["marketing_consent", "transactional", "verification", "keyword_reply", "consent_receipt"]
BlockReason = Literal[
    "no_consent", "consent_pending", "opted_out", "channel_opted_out", "program_archived", "contact_erased"
]
CancelReason = Literal[BlockReason, "code_closed"]
Status = Literal[
    "requested", "queued", "blocked", "diverted", "sent", "retrying", "dead_lettered", "cancelled",
    "delivered", "undelivered",
]  # fmt: skip
FINAL: frozenset[str] = frozenset({"blocked", "diverted", "dead_lettered", "cancelled"})


def message_id_for(caller: str, idempotency_key: str) -> UUID:
    """The same caller and key always name the same message: a retried send finds the first."""
    return uuid.uuid5(_NAMESPACE, f"/messages/{caller}/{idempotency_key}")


def code_message_id(verification_id: UUID) -> UUID:
    """The message that carries a verification's code (one per code)."""
    return uuid.uuid5(_NAMESPACE, f"/messages/code/{verification_id}")


def reply_message_id(inbound_id: str) -> UUID:
    """The one reply to an inbound SMS (a provider's retried webhook finds it done)."""
    return uuid.uuid5(_NAMESPACE, f"/messages/reply/{inbound_id}")


def receipt_message_id(position: int) -> UUID:
    """The message that gives the contact the receipt of the consent event at `position` (one per
    event: a follower that runs again finds it sent)."""
    return uuid.uuid5(_NAMESPACE, f"/messages/receipt/{position}")


class EventRef(msgspec.Struct, frozen=True, kw_only=True):
    """One event named by its stream and version: known before it is appended, unlike its position."""

    stream: UUID
    version: int


class Basis(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What allowed a message: the rule, and the ledger position of the event it relied on.
    `receipts`: the consent events whose signed receipts the message links to (a consent receipt,
    or the reply to an SMS STOP or START that changed consent)."""

    rule: Rule
    consent_position: int | None = None
    consent_topic: str | None = None
    verification_id: UUID | None = None
    inbound_id: str | None = None
    receipts: tuple[EventRef, ...] = ()


class Sealed(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The rendered message and its variables, each sealed with the contact's data key."""

    text: bytes
    variables: bytes
    subject: bytes | None = None
    html: bytes | None = None


class Message(Aggregate):
    TOPIC = "message"

    class Created(Aggregate.Created):
        TOPIC = "message.requested"
        contact_id: UUID
        channel: Channel
        kind: TemplateKind
        purpose: Purpose
        optin_id: UUID | None
        idempotency_key: str | None
        actor: Actor

    class Queued(Aggregate.Event):
        TOPIC = "message.queued"
        contact_id: UUID
        channel: Channel
        kind: TemplateKind
        basis: Basis
        template_id: UUID | None
        template_version: int | None
        sealed: Sealed
        preview: str
        sms: SmsLength | None
        list_unsubscribe: bool

    class Blocked(Aggregate.Event):
        TOPIC = "message.blocked"
        contact_id: UUID
        reason: BlockReason
        consent_position: int | None

    class Diverted(Aggregate.Event):
        """No consent yet: the opt-in invite (a consent request with a code) went instead."""

        TOPIC = "message.diverted"
        contact_id: UUID
        verification_id: UUID

    class Sent(Aggregate.Event):
        TOPIC = "message.sent"
        contact_id: UUID
        attempt: int
        provider: str
        provider_id: str
        at: datetime

    class Failed(Aggregate.Event):
        """Not taken; retried at `retry_at`. The provider's text is sealed (`ledger.send_failure`)."""

        TOPIC = "message.failed"
        class_version = 2
        contact_id: UUID
        attempt: int
        category: str
        code: str | None
        sealed_detail: bytes | None
        legacy_error: str | None
        retry_at: datetime
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            upcast_legacy_failure(state)

    class DeadLettered(Aggregate.Event):
        TOPIC = "message.dead_lettered"
        class_version = 2
        contact_id: UUID
        attempts: int
        category: str
        code: str | None
        sealed_detail: bytes | None
        legacy_error: str | None
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            upcast_legacy_failure(state)

    class Cancelled(Aggregate.Event):
        """Consent changed between queueing and sending: the message never left."""

        TOPIC = "message.cancelled"
        contact_id: UUID
        reason: CancelReason
        at: datetime

    class Held(Aggregate.Event):
        """Outside the recipient's sending window (quiet hours): it goes when the window opens."""

        TOPIC = "message.held"
        contact_id: UUID
        until: datetime
        reason: str
        at: datetime

    class Delivered(Aggregate.Event):
        TOPIC = "message.delivered"
        contact_id: UUID
        provider_status: str
        at: datetime

    class Undelivered(Aggregate.Event):
        TOPIC = "message.undelivered"
        contact_id: UUID
        provider_status: str
        error_code: str | None
        at: datetime

    @event(Created)
    def __init__(
        self,
        *,
        contact_id: UUID,
        channel: Channel,
        kind: TemplateKind,
        purpose: Purpose,
        optin_id: UUID | None,
        idempotency_key: str | None,
        actor: Actor,
    ) -> None:
        self.contact_id = contact_id
        self.channel: Channel = channel
        self.kind: TemplateKind = kind
        self.purpose: Purpose = purpose
        self.optin_id = optin_id
        self.status: Status = "requested"
        self.basis: Basis | None = None
        self.sealed: Sealed | None = None
        self.list_unsubscribe = False
        self.reason: str | None = None
        self.verification_id: UUID | None = None
        self.attempts = 0
        self.retry_at: datetime | None = None
        self.provider_id: str | None = None
        self.held_until: datetime | None = None

    @property
    def sendable(self) -> bool:
        return self.status in ("queued", "retrying")

    def queue(
        self,
        basis: Basis,
        template: tuple[UUID, int] | None,
        sealed: Sealed,
        preview: str,
        sms: SmsLength | None,
        list_unsubscribe: bool,
    ) -> None:
        self._require("requested")
        template_id, version = template or (None, None)
        self._queued(
            self.contact_id,
            self.channel,
            self.kind,
            basis,
            template_id,
            version,
            sealed,
            preview,
            sms,
            list_unsubscribe,
        )

    @event(Queued)
    def _queued(
        self,
        contact_id: UUID,
        channel: Channel,
        kind: TemplateKind,
        basis: Basis,
        template_id: UUID | None,
        template_version: int | None,
        sealed: Sealed,
        preview: str,
        sms: SmsLength | None,
        list_unsubscribe: bool,
    ) -> None:
        self.status, self.basis, self.sealed = "queued", basis, sealed
        self.list_unsubscribe = list_unsubscribe
        self.verification_id = basis.verification_id

    def block(self, reason: BlockReason, consent_position: int | None) -> None:
        self._require("requested")
        self._blocked(contact_id=self.contact_id, reason=reason, consent_position=consent_position)

    @event(Blocked)
    def _blocked(self, contact_id: UUID, reason: BlockReason, consent_position: int | None) -> None:
        self.status, self.reason = "blocked", reason

    def divert(self, verification_id: UUID) -> None:
        self._require("requested")
        self._diverted(contact_id=self.contact_id, verification_id=verification_id)

    @event(Diverted)
    def _diverted(self, contact_id: UUID, verification_id: UUID) -> None:
        self.status, self.verification_id = "diverted", verification_id

    def sent(self, provider: str, provider_id: str, at: datetime) -> None:
        self._require("queued", "retrying")
        self._sent(self.contact_id, self.attempts + 1, provider, provider_id, at)

    @event(Sent)
    def _sent(self, contact_id: UUID, attempt: int, provider: str, provider_id: str, at: datetime) -> None:
        self.status, self.attempts, self.provider_id = "sent", attempt, provider_id

    def failed(self, failure: Failure, retry_at: datetime, at: datetime) -> None:
        self._require("queued", "retrying")
        f = failure
        self._failed(
            self.contact_id, self.attempts + 1, f.category, f.code, f.sealed_detail, None, retry_at, at
        )

    @event(Failed)
    def _failed(self, contact_id: UUID, attempt: int, category: str, code: str | None,
                sealed_detail: bytes | None, legacy_error: str | None, retry_at: datetime, at: datetime,
                ) -> None:  # fmt: skip
        self.status, self.attempts, self.retry_at = "retrying", attempt, retry_at
        self.reason = summary(category, code, legacy_error)

    def dead_letter(self, failure: Failure, at: datetime) -> None:
        self._require("queued", "retrying")
        f = failure
        self._dead_lettered(self.contact_id, self.attempts + 1, f.category, f.code, f.sealed_detail, None, at)

    @event(DeadLettered)
    def _dead_lettered(self, contact_id: UUID, attempts: int, category: str, code: str | None,
                       sealed_detail: bytes | None, legacy_error: str | None, at: datetime,
                       ) -> None:  # fmt: skip
        self.status, self.attempts = "dead_lettered", attempts
        self.reason = summary(category, code, legacy_error)

    def cancel(self, reason: CancelReason, at: datetime) -> None:
        self._require("queued", "retrying")
        self._cancelled(contact_id=self.contact_id, reason=reason, at=at)

    @event(Cancelled)
    def _cancelled(self, contact_id: UUID, reason: CancelReason, at: datetime) -> None:
        self.status, self.reason = "cancelled", reason

    def hold(self, until: datetime, reason: str, at: datetime) -> None:
        """Held, not dropped: still queued, offered again at `until` (recorded once per `until`)."""
        self._require("queued", "retrying")
        if self.held_until != until:
            self._held(contact_id=self.contact_id, until=until, reason=reason, at=at)

    @event(Held)
    def _held(self, contact_id: UUID, until: datetime, reason: str, at: datetime) -> None:
        self.held_until = until

    def report(self, provider_status: str, delivered: bool, error_code: str | None, at: datetime) -> None:
        """A provider's delivery receipt; repeated or late receipts change nothing."""
        if self.status != "sent":
            return
        if delivered:
            self._delivered(contact_id=self.contact_id, provider_status=provider_status, at=at)
        else:
            self._undelivered(self.contact_id, provider_status, error_code, at)

    @event(Delivered)
    def _delivered(self, contact_id: UUID, provider_status: str, at: datetime) -> None:
        self.status = "delivered"

    @event(Undelivered)
    def _undelivered(
        self, contact_id: UUID, provider_status: str, error_code: str | None, at: datetime
    ) -> None:
        self.status, self.reason = "undelivered", error_code or provider_status

    def _require(self, *statuses: Status) -> None:
        if self.status not in statuses:
            raise InvalidCommandError(f"the message is {self.status}")


def request_message(
    message_id: UUID,
    *,
    contact_id: UUID,
    channel: Channel,
    kind: TemplateKind,
    purpose: Purpose,
    optin_id: UUID | None,
    idempotency_key: str | None,
    actor: Actor,
) -> Message:
    return Message._create(
        Message.Created,
        id=message_id,
        contact_id=contact_id,
        channel=channel,
        kind=kind,
        purpose=purpose,
        optin_id=optin_id,
        idempotency_key=idempotency_key,
        actor=actor,
    )
