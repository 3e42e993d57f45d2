"""Replies to our SMS number: STOP, START and HELP, acted on at once (the channel proves identity).

STOP opts the number out of the whole channel (every program, marketing and transactional, as
carriers enforce it) and gets one confirmation. START lifts it, gives back the opt-ins STOP
withdrew, and confirms opt-in requests still waiting for this number (an invite that said
"reply YES"): replying from the phone proves control of it. HELP gets the help text. Each inbound
keyword is acted on once: it is recorded under its provider message id (`ledger/inbound_text.py`)
in the same append as its effects, so a replayed signed request, or the provider's retry, changes
nothing. A reply to a STOP or START that changed consent links to the signed receipts of those
changes (`receipts`), so the number gets exactly one message, never a reply and a receipt.
A reply that is no keyword is screened for revocation in other words
(`ledger.application.revocation`): a plain one is the same opt-out as STOP, a doubtful one waits
for staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.address import Address
from ledger.application.channel_preferences import ChannelPreferences
from ledger.application.consent_receipts import RECEIPT_LINE, ReceiptLinks
from ledger.application.contacts import ContactRegistry
from ledger.application.revocation import REVOCATION, InboundRevocation
from ledger.composer import Composer
from ledger.consent import Consent, Evidence
from ledger.errors import ConflictError, InvalidValueError
from ledger.inbound_text import InboundText, inbound_text_id, receive_text
from ledger.keywords import Family, Keywords
from ledger.message import Basis, EventRef, Message, Sealed, reply_message_id, request_message
from ledger.program import Program
from ledger.rendering import placeholders
from ledger.template import TemplateKind
from ledger.vocabulary import SYSTEM, Actor

DEFAULT_HELP = "Reply STOP to unsubscribe, START to resubscribe. Msg&data rates may apply."


@dataclass(frozen=True, slots=True)
class Handled:
    family: Family
    keyword: str
    contact_id: UUID
    position: int
    changed: bool


class InboundSms:
    def __init__(
        self,
        registry: ContactRegistry,
        preferences: ChannelPreferences,
        composer: Composer,
        keywords: Keywords,
        *,
        help_text: str = DEFAULT_HELP,
        sender_name: str = "OptIn Ledger",
        revocation: InboundRevocation | None = None,
        receipts: ReceiptLinks | None = None,
        receipt_line: bool = True,
    ) -> None:
        self.registry = registry
        self.repository = registry.repository
        self.preferences = preferences
        self.composer = composer
        self.keywords = keywords
        self.help_text = help_text
        self.sender_name = sender_name
        self.revocation = revocation
        self.receipts = receipts
        """Where replies link to receipts (None: nowhere, as nothing signs them)."""
        self.receipt_line = receipt_line
        """Whether a reply that changed consent ends with its receipt link (SMS receipts on)."""

    async def receive_text(self, sender: str, body: str, inbound_id: str) -> Handled | None:
        """`receive` from a sender as the provider gave it; a short code or an alphanumeric
        sender is nobody to opt out (None)."""
        try:
            address = self.registry.address("sms", sender)
        except InvalidValueError:
            return None
        return await self.receive(address, body, inbound_id[:64])

    async def receive(self, sender: Address, body: str, inbound_id: str) -> Handled | None:
        """Act on a keyword from `sender`; None for an ordinary message (nothing is recorded)."""
        found = self.keywords.classify(body)
        sealed_reply = None
        if found is None and self.revocation is not None:  # revocation in other words (issue 18)
            screened = await self.revocation.screen(sender, body, inbound_id)
            if screened is not None:
                found, sealed_reply = ("stop", REVOCATION), screened.sealed_reply
        if found is None:
            return None
        family, keyword = found
        reply_id = reply_message_id(inbound_id)
        if await self._seen(inbound_id, reply_id):  # replayed, or retried by the provider
            known = await self.registry.find(sender)
            return (
                Handled(family, keyword, known, await self.repository.store.head(), False) if known else None
            )
        contact_id = (await self.registry.register(sender, Actor(kind="contact"))).contact_id
        evidence = Evidence(
            actor=Actor(kind="contact", id=str(contact_id)),
            source="sms_keyword",
            keyword=keyword if sealed_reply is None else None,
            sealed_reason=sealed_reply,  # a revoking reply in the contact's own words
        )
        changed: list[Aggregate] = []
        reply: tuple[TemplateKind, str] | None = None
        if family == "stop":
            changed = await self.preferences.opt_out_everywhere(contact_id, "sms", evidence)
            reply = ("optout_confirmation", self.sender_name) if changed else None
        elif family == "start":
            changed, names = await self._start(contact_id, evidence)
            reply = ("optin_confirmation", ", ".join(names) or self.sender_name) if changed else None
        if family == "help" or reply is not None:
            refs = tuple(EventRef(stream=c.id, version=c.version) for c in changed if isinstance(c, Consent))
            changed.append(await self._reply(reply_id, contact_id, inbound_id, reply, refs))
        text = receive_text(inbound_id, contact_id, family, keyword)
        try:
            position = await self.repository.save(text, *changed)
        except ConflictError:
            if not await self._seen(inbound_id, reply_id):
                raise
            return Handled(family, keyword, contact_id, await self.repository.store.head(), False)
        return Handled(family, keyword, contact_id, position, bool(changed))

    async def _seen(self, inbound_id: str, reply_id: UUID) -> bool:
        """Whether this provider message was acted on already (before its id was recorded, only
        messages that were replied to left a trace: the reply)."""
        if await self.repository.find(InboundText, inbound_text_id(inbound_id)) is not None:
            return True
        return await self.repository.find(Message, reply_id) is not None

    async def _start(self, contact_id: UUID, evidence: Evidence) -> tuple[list[Aggregate], list[str]]:
        changed, regranted = await self.preferences.resubscribe(contact_id, "sms", evidence)
        for consent in await self.preferences.consents(contact_id, "sms"):
            waiting = consent.status == "pending" and consent.pending_action == "opt_in"
            if waiting and consent.optin_id not in regranted:
                asked = consent.pending_evidence
                consent.grant(
                    Evidence(
                        actor=evidence.actor,
                        source="sms_keyword",
                        keyword=evidence.keyword,
                        verification_id=consent.pending,
                        disclosure_version=asked.disclosure_version if asked else None,
                        disclosure_sha256=asked.disclosure_sha256 if asked else None,
                    )
                )
                changed.append(consent)
                regranted.append(consent.optin_id)
        names = []
        for optin_id in regranted:
            program = await self.repository.find(Program, optin_id)
            if program is not None:
                names.append(program.name)
        return changed, names

    async def _reply(
        self,
        reply_id: UUID,
        contact_id: UUID,
        inbound_id: str,
        reply: tuple[TemplateKind, str] | None,
        receipts: tuple[EventRef, ...],
    ) -> Message:
        """The one reply, queued like any message; the worker always lets keyword replies out."""
        key = await self.registry.keys.get(contact_id)
        assert key is not None  # registered a moment ago
        kind: TemplateKind = reply[0] if reply else "transactional"
        message = request_message(
            reply_id,
            contact_id=contact_id,
            channel="sms",
            kind=kind,
            purpose="transactional",
            optin_id=None,
            idempotency_key=None,
            actor=SYSTEM,
        )
        basis = Basis(rule="keyword_reply", inbound_id=inbound_id)
        if reply is None:  # HELP: the deployment's help text, not a template
            sealer = self.registry.sealer
            sealed = Sealed(text=sealer.seal(key, self.help_text), variables=sealer.seal(key, "{}"))
            message.queue(basis, None, sealed, self.help_text, None, False)
            return message
        template = await self.composer.select(kind, "sms", None)
        system, suffix = {"program_name": reply[1]}, ""
        placed = "receipt_url" in placeholders(template.body)  # staff put the link in the text
        if placed or (receipts and self.receipt_line and self.receipts is not None):
            system["receipt_url"] = self.receipts.url(reply_id) if self.receipts else ""
            basis = Basis(rule="keyword_reply", inbound_id=inbound_id, receipts=receipts)
            suffix = "" if placed else RECEIPT_LINE
        composed = self.composer.compose(
            template, key=key, purpose="transactional", variables={}, system=system, suffix=suffix
        )
        message.queue(
            basis,
            (template.id, template.content_version),
            composed.sealed,
            composed.preview,
            composed.rendered.sms,
            False,
        )
        return message
