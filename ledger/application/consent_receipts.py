"""Consent receipts reach the contact: after each opt-in and opt-out, a message with a link to its
signed receipt (by email, the receipt itself as well).

The send policy (`ledger/send_policy.py`, rule `consent_receipt`): a receipt confirms that very
change, so, like the one reply a STOP gets, it goes even right after an opt-out; there is at most
one per consent event (its message id derives from the event's position, so a follower that runs
an event again finds it queued already); never to an erased contact, never an SMS after a STOP.
Some events get no message of their own:

- SMS keywords (STOP, START, YES): their one reply carries the receipt link (`InboundSms`);
- spam complaints: the contact told their mailbox provider our mail is unwanted, and mail sent
  after a complaint is what feedback-loop rules forbid (the receipt is still listed and linked);
- a channel whose receipts the operator turned off.

A receipt that may not go (an SMS after the provider reported the number unsubscribed) is
recorded `blocked` with the reason, like any refused message.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from ledger.application.contacts import ContactRegistry
from ledger.composer import Composer, Composition
from ledger.consent import Consent
from ledger.errors import ConflictError, InvalidValueError
from ledger.message import Basis, EventRef, Message, receipt_message_id, request_message
from ledger.program import Program
from ledger.send_policy import consent_now, still_allowed
from ledger.template import Template
from ledger.vocabulary import SYSTEM, Channel, Source

ConsentChange = Consent.Granted | Consent.Withdrawn
NO_MESSAGE_OF_THEIR_OWN: frozenset[Source] = frozenset({"sms_keyword", "complaint"})
RECEIPT_LINE = " Receipt: {{ receipt_url }}"
"""What a keyword reply whose template does not place the link ends with."""


class ReceiptLinks(Protocol):
    """Unguessable links to the receipts a message carries (they name no personal data)."""

    def url(self, message_id: UUID) -> str: ...


class ReceiptIssuer(Protocol):
    """Signed receipts, derived from the ledger (`ledger/receipt.py`)."""

    async def jws_at(self, position: int) -> str | None:
        """The compact JWS of the consent event at `position`, None if there is none."""
        ...


def change_words(change: ConsentChange) -> str:
    return "opted in to" if isinstance(change, Consent.Granted) else "opted out of"


class ConsentReceipts:
    def __init__(
        self,
        registry: ContactRegistry,
        composer: Composer,
        links: ReceiptLinks,
        issuer: ReceiptIssuer,
        *,
        channels: frozenset[Channel],
    ) -> None:
        self.registry = registry
        self.repository = registry.repository
        self.composer = composer
        self.links = links
        self.issuer = issuer
        self.channels = channels
        """The channels receipts are sent on (the others' receipts are only listed and linked)."""

    def own_message(self, change: ConsentChange) -> bool:
        """Whether this consent event's receipt goes in a message of its own."""
        return change.channel in self.channels and change.evidence.source not in NO_MESSAGE_OF_THEIR_OWN

    async def deliver(self, position: int, change: ConsentChange) -> Message | None:
        """Queue the receipt of the consent event at `position` (or record it blocked); None when
        it gets no message of its own, the contact was erased, or it was recorded already."""
        if not self.own_message(change):
            return None
        message_id = receipt_message_id(position)
        key = await self.registry.keys.get(change.contact_id)
        if key is None or await self.repository.find(Message, message_id) is not None:
            return None
        message = request_message(
            message_id,
            contact_id=change.contact_id,
            channel=change.channel,
            kind="consent_receipt",
            purpose="transactional",
            optin_id=change.optin_id,
            idempotency_key=None,
            actor=SYSTEM,
        )
        basis = Basis(
            rule="consent_receipt",
            consent_position=position,
            consent_topic=change.TOPIC,
            receipts=(EventRef(stream=change.originator_id, version=change.originator_version),),
        )
        repository = self.repository
        now = await consent_now(
            repository.store, repository.mapper, change.contact_id, change.optin_id, change.channel
        )
        refusal = still_allowed("transactional", change.channel, basis, now)
        if refusal is not None:
            message.block(refusal.reason, refusal.position)
        else:
            template, composed = await self._compose(message_id, position, change, key)
            message.queue(
                basis,
                (template.id, template.content_version),
                composed.sealed,
                composed.preview,
                composed.rendered.sms,
                False,
            )
        try:
            await repository.save(message)
        except ConflictError:  # another follower recorded it a moment ago
            return None
        return message

    async def _compose(
        self, message_id: UUID, position: int, change: ConsentChange, key: bytes
    ) -> tuple[Template, Composition]:
        program = await self.repository.find(Program, change.optin_id)
        system = {
            "program_name": program.name if program else str(change.optin_id),
            "receipt_url": self.links.url(message_id),
            "consent_change": change_words(change),
            "ledger_position": str(position),
        }
        if change.channel == "email":
            jws = await self.issuer.jws_at(position)
            if jws is None:  # the follower hands over consent events only: the key must be missing
                raise RuntimeError(f"no signed receipt for the event at position {position}")
            system["receipt_jws"] = jws
        template = await self.composer.select("consent_receipt", change.channel, change.optin_id)
        try:
            composed = self.composer.compose(
                template, key=key, purpose="transactional", variables={}, system=system
            )
        except InvalidValueError:  # a program's own template wants variables a receipt cannot give
            template = await self.composer.select("consent_receipt", change.channel, None)
            composed = self.composer.compose(
                template, key=key, purpose="transactional", variables={}, system=system
            )
        return template, composed

    async def carried_by(self, message_id: UUID) -> tuple[UUID, list[int]] | None:
        """The contact a message went to and the positions of the consent events whose receipts
        it links to; None for no such message, or when its contact was erased."""
        message = await self.repository.find(Message, message_id)
        if message is None or await self.registry.keys.get(message.contact_id) is None:
            return None
        positions = []
        for ref in message.basis.receipts if message.basis else ():
            for recorded in await self.repository.store.read_stream_recorded(ref.stream):
                if recorded.originator_version == ref.version:
                    positions.append(recorded.notification_id)
        return message.contact_id, sorted(positions)
