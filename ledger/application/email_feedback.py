"""Email feedback acts on consent: bounces suppress the address, complaints and mailto replies opt out.

What each report does, always through the events the one consent decision folds
(`ledger/decision.py`), each with its evidence:

- a hard bounce (5.x.x) suppresses the address for email: a channel-wide `channel.opted_out` with
  source `bounce`, the message and the status code as evidence. It withdraws no program's
  consent (the contact asked for nothing); while it is in force, nothing but a code goes out;
- soft bounces (4.x.x) are counted; `limit` of them within `window` suppress like a hard one;
- a spam complaint withdraws the address's consent to every running marketing program that uses
  email at once (source `complaint`); transactional mail still goes unless the address is
  suppressed;
- a mail to the unsubscribe address, from the contact's own address, carrying the signed token
  of a `List-Unsubscribe` mailto, withdraws that program's consent (source `email_reply`).

Reports are matched to our messages by the caller (a signed VERP return path, or the Message-ID
on an authenticated channel), never by an address in the report. A suppressed address is
released only by the contact proving it again: `released_by_proof`, when a code is confirmed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.address import Address
from ledger.application.contacts import ContactRegistry
from ledger.channel_optout import ChannelOptOut, channel_optout_id, open_channel_optout
from ledger.consent import Consent, Evidence, consent_id, open_consent
from ledger.contact import Contact
from ledger.mailbox import BounceKind, Mailbox, Via, mailbox_id, open_mailbox
from ledger.message import Message
from ledger.ports import Clock
from ledger.program import Program
from ledger.repository import Streams
from ledger.verification import Verification
from ledger.vocabulary import Actor

Programs = Callable[[], Awaitable[list[UUID]]]
"""Every program id (the complaint rule keeps the running marketing ones that use email)."""


@dataclass(frozen=True, slots=True)
class SoftBounceRule:
    """How many soft bounces within how long suppress an address."""

    limit: int = 3
    window: timedelta = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a report did: the ledger position, the contact it was about, and whether it changed
    anything (`ignored` says why a report was set aside: not one of our email messages, …)."""

    position: int
    contact_id: UUID | None = None
    changed: bool = False
    ignored: str | None = None


class EmailFeedback:
    def __init__(
        self,
        registry: ContactRegistry,
        programs: Programs,
        clock: Clock,
        rule: SoftBounceRule | None = None,
    ) -> None:
        self.registry = registry
        self.repository = registry.repository
        self.programs = programs
        self.clock = clock
        self.rule = rule or SoftBounceRule()

    async def bounced(
        self,
        message_id: UUID,
        kind: BounceKind,
        status: str | None,
        detail: str | None,
        via: Via,
        actor: Actor,
    ) -> Outcome:
        """A delivery status report of `message_id`: record it; suppress the address if it must."""
        about = await self._about(message_id)
        if isinstance(about, Outcome):
            return about
        message, key = about
        mailbox = await self._mailbox(message.contact_id)
        if mailbox.reported_already(message_id, kind):
            return Outcome(await self.repository.store.head(), message.contact_id)
        now = self.clock.now()
        mailbox.bounce(
            message_id=message_id,
            optin_id=message.optin_id,
            kind=kind,
            status=status,
            via=via,
            actor=actor,
            at=now,
            sealed_detail=self.registry.sealer.seal(key, detail) if detail else None,
        )
        changed: list[Aggregate] = [mailbox]
        if kind == "hard" or mailbox.soft_bounces_since(now - self.rule.window) >= self.rule.limit:
            optout = await self.repository.find(
                ChannelOptOut, channel_optout_id(message.contact_id, "email")
            ) or open_channel_optout(message.contact_id, "email")
            evidence = Evidence(actor=actor, source="bounce", message_id=message_id, status_code=status)
            optout.opt_out((), evidence)  # a no-op when the channel is already opted out
            changed.append(optout)
        return Outcome(await self.repository.save(*changed), message.contact_id, True)

    async def complained(
        self, message_id: UUID, feedback_type: str, detail: str | None, via: Via, actor: Actor
    ) -> Outcome:
        """A spam complaint about `message_id`: opt the address out of every marketing program."""
        about = await self._about(message_id)
        if isinstance(about, Outcome):
            return about
        message, key = about
        mailbox = await self._mailbox(message.contact_id)
        if mailbox.reported_already(message_id, "complaint"):
            return Outcome(await self.repository.store.head(), message.contact_id)
        mailbox.complain(
            message_id=message_id,
            optin_id=message.optin_id,
            feedback_type=feedback_type,
            via=via,
            actor=actor,
            at=self.clock.now(),
            sealed_detail=self.registry.sealer.seal(key, detail) if detail else None,
        )
        evidence = Evidence(actor=actor, source="complaint", message_id=message_id)
        changed: list[Aggregate] = [mailbox]
        for optin_id in await self.programs():
            program = await self.repository.find(Program, optin_id)
            if program is None or program.archived or program.purpose != "marketing":
                continue
            if "email" not in program.channels:
                continue
            consent = await self._consent(message.contact_id, optin_id)
            if consent.status != "opted_out":
                consent.withdraw(evidence)
                changed.append(consent)
        return Outcome(await self.repository.save(*changed), message.contact_id, True)

    async def unsubscribe_reply(self, contact_id: UUID, optin_id: UUID, sender: Address) -> Outcome:
        """A mail to the unsubscribe address carrying a genuine token for (contact, program):
        opt out, if `sender` is that contact's own address; otherwise nothing changes."""
        head = await self.repository.store.head()
        contact = await self.repository.find(Contact, contact_id)
        if contact is None or contact.erased or contact.channel != "email" or sender.channel != "email":
            return Outcome(head, ignored="no such email contact")
        if await self.registry.find(sender) != contact_id:
            return Outcome(head, ignored="not sent from the contact's own address")
        consent = await self._consent(contact_id, optin_id)
        if consent.status == "opted_out":
            return Outcome(head, contact_id)
        consent.withdraw(Evidence(actor=Actor(kind="contact", id=str(contact_id)), source="email_reply"))
        return Outcome(await self.repository.save(consent), contact_id, True)

    async def _about(self, message_id: UUID) -> tuple[Message, bytes] | Outcome:
        """The email message a report names and its contact's key; an `Outcome` to give if none."""
        message = await self.repository.find(Message, message_id)
        if message is None or message.channel != "email":
            return Outcome(await self.repository.store.head(), ignored="not one of our email messages")
        key = await self.registry.keys.get(message.contact_id)
        if key is None:
            return Outcome(await self.repository.store.head(), ignored="the contact was erased")
        return message, key

    async def _mailbox(self, contact_id: UUID) -> Mailbox:
        found = await self.repository.find(Mailbox, mailbox_id(contact_id))
        return found or open_mailbox(contact_id)

    async def _consent(self, contact_id: UUID, optin_id: UUID) -> Consent:
        found = await self.repository.find(Consent, consent_id(contact_id, optin_id, "email"))
        return found or open_consent(contact_id, optin_id, "email")


def proof_streams(verification: Verification) -> list[UUID]:
    """The streams `released_by_proof` needs read: the email opt-out and the mailbox, on email."""
    if verification.channel != "email":
        return []
    return [channel_optout_id(verification.contact_id, "email"), mailbox_id(verification.contact_id)]


def released_by_proof(read: Streams, verification: Verification, at: datetime) -> list[Aggregate]:
    """When a contact confirms a code on email: lift a suppression that bounces put in force (and
    forget past soft bounces). An opt-out the contact asked for stays. Returned unsaved, for the
    caller to append with the confirmation. `read`: the `proof_streams`, just read."""
    if verification.channel != "email":
        return []
    contact_id = verification.contact_id
    changed: list[Aggregate] = []
    optout = read.find(ChannelOptOut, channel_optout_id(contact_id, "email"))
    if optout is not None and optout.opted_out and _suppressed_by_bounce(read, optout.id):
        proof = Evidence(
            actor=Actor(kind="contact", id=str(contact_id)), source="web", verification_id=verification.id
        )
        optout.resubscribe(proof)
        changed.append(optout)
    mailbox = read.find(Mailbox, mailbox_id(contact_id))
    if mailbox is not None and mailbox.soft_bounces:
        mailbox.clear(verification.id, at)
        changed.append(mailbox)
    return changed


def _suppressed_by_bounce(read: Streams, optout_id: UUID) -> bool:
    """Whether the channel opt-out in force was put there by bounces (its latest opt-out's source)."""
    source = None
    for recorded in read.events[optout_id]:
        event = read.mapper.to_domain_event(recorded.stored())
        if isinstance(event, ChannelOptOut.OptedOut):
            source = event.evidence.source
    return source == "bounce"
