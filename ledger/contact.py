"""The contact aggregate: exactly one address on one channel, held only as ciphertext, erasable.

The domain never sees the plaintext address: the registry seals it with the contact's own data
key before the aggregate is made, so events carry ciphertext only. Erasure deletes that key
elsewhere; the `Erased` event itself carries nothing personal.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import NotFoundError
from ledger.vocabulary import Actor, Channel


class Contact(Aggregate):
    """One person's one address. A person with an email address and a phone is two contacts."""

    TOPIC = "contact"

    class Created(Aggregate.Created):
        """The contact was registered (its address sealed with its own key)."""

        TOPIC = "contact.registered"
        channel: Channel
        sealed_address: bytes
        actor: Actor

    class Erased(Aggregate.Event):
        TOPIC = "contact.erased"
        actor: Actor

    @event(Created)
    def __init__(self, *, channel: Channel, sealed_address: bytes, actor: Actor) -> None:
        self.channel: Channel = channel
        self.sealed_address = sealed_address
        self.erased = False

    def require_live(self) -> None:
        if self.erased:
            raise NotFoundError(f"no contact with id {self.id}")

    def erase(self, actor: Actor) -> None:
        self.require_live()
        self._erased(actor=actor)

    @event(Erased)
    def _erased(self, actor: Actor) -> None:
        self.erased = True


def register_contact(contact_id: UUID, *, channel: Channel, sealed_address: bytes, actor: Actor) -> Contact:
    """A new contact with an id chosen beforehand (the address book claimed it)."""
    # `_create` is eventsourcing's documented way to pick the created event and pass an `id`.
    return Contact._create(
        Contact.Created, id=contact_id, channel=channel, sealed_address=sealed_address, actor=actor
    )
