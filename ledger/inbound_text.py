"""An inbound SMS keyword (STOP, START, HELP) as handed over by the provider, recorded once.

A provider's webhook signature covers the URL and the form but carries no time, so a signed
request stays valid forever: an old START sent again after a STOP would subscribe the number again.
So each keyword message the service acts on is recorded under a stream whose id derives from the
provider's message id (Twilio's MessageSid), in the same atomic append as whatever the message
changed. A replay (or the provider's own retry) finds the stream there; two at once conflict on
its first version, and the loser's append, changes included, is refused as a whole. On the ledger
rather than in a table of seen ids, because only the append itself is atomic with the change: a
separate table would be written before (and lose a genuine retry when the change then failed) or
after (and let a concurrent replay through in between).
"""

from __future__ import annotations

import uuid
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.keywords import Family

_NAMESPACE = uuid.UUID("2f4b9a1e-7c3d-4e58-b6a0-736d73696e62")


def inbound_text_id(provider_id: str) -> UUID:
    """The one stream of the provider's message `provider_id`."""
    return uuid.uuid5(_NAMESPACE, f"/sms/inbound/{provider_id}")


class InboundText(Aggregate):
    TOPIC = "sms.inbound"

    class Created(Aggregate.Created):
        """A keyword from a contact's phone, acted on (no body: only the keyword it matched)."""

        TOPIC = "sms.inbound_received"
        provider_id: str
        contact_id: UUID
        family: Family
        keyword: str

    @event(Created)
    def __init__(self, *, provider_id: str, contact_id: UUID, family: Family, keyword: str) -> None:
        self.provider_id = provider_id
        self.contact_id = contact_id


def receive_text(provider_id: str, contact_id: UUID, family: Family, keyword: str) -> InboundText:
    return InboundText._create(
        InboundText.Created,
        id=inbound_text_id(provider_id),
        provider_id=provider_id,
        contact_id=contact_id,
        family=family,
        keyword=keyword,
    )
