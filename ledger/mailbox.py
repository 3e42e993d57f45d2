"""The mailbox aggregate: what mail systems reported about one contact's email address.

Each bounce (RFC 3464 delivery status) and spam complaint (RFC 5965 feedback report) that names
one of our messages is recorded once, with the message it was about, the program that message
belonged to, the status code and where the report came from (`via`). The report's free text (a
diagnostic line may quote the address) is sealed with the contact's key; the report itself is
never kept. The stream also counts recent soft bounces, and forgets them when the contact proves
the address again (`cleared`).

Time is passed in, never read here, so counting replays the same way.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.vocabulary import Actor

_NAMESPACE = uuid.UUID("3b1f0e7c-5a4d-4c29-9e1b-6d61696c626f")

BounceKind = Literal["hard", "soft"]
Via = Literal["smtp", "webhook", "ses", "sendgrid", "postmark"]
"""Where a report came in: our SMTP listener, the raw-message webhook, or a provider's webhook."""


def mailbox_id(contact_id: UUID) -> UUID:
    return uuid.uuid5(_NAMESPACE, f"/mailbox/{contact_id}")


class Mailbox(Aggregate):
    TOPIC = "mailbox"

    class Created(Aggregate.Created):
        TOPIC = "mailbox.opened"
        contact_id: UUID

    class Bounced(Aggregate.Event):
        """A message to this address bounced: `hard` (5.x.x, permanent) or `soft` (4.x.x)."""

        TOPIC = "mailbox.bounced"
        contact_id: UUID
        message_id: UUID
        optin_id: UUID | None
        kind: BounceKind
        status: str | None
        via: Via
        actor: Actor
        at: datetime
        sealed_detail: bytes | None

    class Complained(Aggregate.Event):
        """The recipient reported a message as spam (a feedback loop's `abuse` report)."""

        TOPIC = "mailbox.complained"
        contact_id: UUID
        message_id: UUID
        optin_id: UUID | None
        feedback_type: str
        via: Via
        actor: Actor
        at: datetime
        sealed_detail: bytes | None

    class Cleared(Aggregate.Event):
        """The contact proved the address with a code: past soft bounces no longer count."""

        TOPIC = "mailbox.cleared"
        contact_id: UUID
        verification_id: UUID
        at: datetime

    @event(Created)
    def __init__(self, *, contact_id: UUID) -> None:
        self.contact_id = contact_id
        self.reported: set[tuple[UUID, str]] = set()
        self.soft_bounces: list[datetime] = []

    def reported_already(self, message_id: UUID, what: str) -> bool:
        """Whether this report (a `hard`/`soft` bounce or a complaint) of the message is recorded:
        providers retry their webhooks, and a message bounces once per kind."""
        return (message_id, what) in self.reported

    def soft_bounces_since(self, since: datetime) -> int:
        return sum(1 for at in self.soft_bounces if at >= since)

    def bounce(
        self,
        *,
        message_id: UUID,
        optin_id: UUID | None,
        kind: BounceKind,
        status: str | None,
        via: Via,
        actor: Actor,
        at: datetime,
        sealed_detail: bytes | None,
    ) -> None:
        if not self.reported_already(message_id, kind):
            self._bounced(self.contact_id, message_id, optin_id, kind, status, via, actor, at, sealed_detail)

    @event(Bounced)
    def _bounced(
        self,
        contact_id: UUID,
        message_id: UUID,
        optin_id: UUID | None,
        kind: BounceKind,
        status: str | None,
        via: Via,
        actor: Actor,
        at: datetime,
        sealed_detail: bytes | None,
    ) -> None:
        self.reported.add((message_id, kind))
        if kind == "soft":
            self.soft_bounces.append(at)

    def complain(
        self,
        *,
        message_id: UUID,
        optin_id: UUID | None,
        feedback_type: str,
        via: Via,
        actor: Actor,
        at: datetime,
        sealed_detail: bytes | None,
    ) -> None:
        if not self.reported_already(message_id, "complaint"):
            self._complained(
                self.contact_id, message_id, optin_id, feedback_type, via, actor, at, sealed_detail
            )

    @event(Complained)
    def _complained(
        self,
        contact_id: UUID,
        message_id: UUID,
        optin_id: UUID | None,
        feedback_type: str,
        via: Via,
        actor: Actor,
        at: datetime,
        sealed_detail: bytes | None,
    ) -> None:
        self.reported.add((message_id, "complaint"))

    def clear(self, verification_id: UUID, at: datetime) -> None:
        if self.soft_bounces:
            self._cleared(self.contact_id, verification_id, at)

    @event(Cleared)
    def _cleared(self, contact_id: UUID, verification_id: UUID, at: datetime) -> None:
        self.soft_bounces = []


def open_mailbox(contact_id: UUID) -> Mailbox:
    return Mailbox._create(Mailbox.Created, id=mailbox_id(contact_id), contact_id=contact_id)
