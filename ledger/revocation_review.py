"""A doubtful reply waiting for staff: does "stop by the store later?" revoke consent?

Opened when the revocation classifier cannot tell, with the deadline by which staff must decide
(within the legal bound for honouring an opt-out). Staff confirm it (the number is opted out of
the channel, as by STOP, with the reply as evidence) or dismiss it, saying why. One review per
inbound message: a provider's retried webhook finds it open already.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import InvalidCommandError
from ledger.vocabulary import Actor, Channel

_NAMESPACE = uuid.UUID("a4c1e8f2-3b5d-4e7a-9c0b-726576696577")


def review_id(inbound_id: str) -> UUID:
    return uuid.uuid5(_NAMESPACE, f"/revocation-review/{inbound_id}")


class RevocationReview(Aggregate):
    TOPIC = "revocation_review"

    class Created(Aggregate.Created):
        TOPIC = "revocation.review_opened"
        contact_id: UUID
        channel: Channel
        inbound_id: str
        sealed_reply: bytes
        matched: str | None
        language: str | None
        received_at: datetime
        due_at: datetime

    class Confirmed(Aggregate.Event):
        TOPIC = "revocation.confirmed"
        contact_id: UUID
        actor: Actor

    class Dismissed(Aggregate.Event):
        TOPIC = "revocation.dismissed"
        contact_id: UUID
        actor: Actor
        sealed_note: bytes | None

    @event(Created)
    def __init__(
        self,
        *,
        contact_id: UUID,
        channel: Channel,
        inbound_id: str,
        sealed_reply: bytes,
        matched: str | None,
        language: str | None,
        received_at: datetime,
        due_at: datetime,
    ) -> None:
        self.contact_id = contact_id
        self.channel: Channel = channel
        self.sealed_reply = sealed_reply
        self.due_at = due_at
        self.open = True

    def confirm(self, actor: Actor) -> None:
        self._require_open()
        self._confirmed(contact_id=self.contact_id, actor=actor)

    @event(Confirmed)
    def _confirmed(self, contact_id: UUID, actor: Actor) -> None:
        self.open = False

    def dismiss(self, actor: Actor, sealed_note: bytes | None) -> None:
        self._require_open()
        self._dismissed(contact_id=self.contact_id, actor=actor, sealed_note=sealed_note)

    @event(Dismissed)
    def _dismissed(self, contact_id: UUID, actor: Actor, sealed_note: bytes | None) -> None:
        self.open = False

    def _require_open(self) -> None:
        if not self.open:
            raise InvalidCommandError("this reply was reviewed already")


def open_review(
    inbound_id: str,
    *,
    contact_id: UUID,
    channel: Channel,
    sealed_reply: bytes,
    matched: str | None,
    language: str | None,
    received_at: datetime,
    due_at: datetime,
) -> RevocationReview:
    return RevocationReview._create(
        RevocationReview.Created,
        id=review_id(inbound_id),
        contact_id=contact_id,
        channel=channel,
        inbound_id=inbound_id,
        sealed_reply=sealed_reply,
        matched=matched,
        language=language,
        received_at=received_at,
        due_at=due_at,
    )
