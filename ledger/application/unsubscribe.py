"""One-click email unsubscribes (RFC 8058): from one program, or from every email at once.

The signed link in the message proves who clicked (nobody else got it), so the opt-out takes
effect at once, with no code: opting out is never harder than opting in.
"""

from __future__ import annotations

from uuid import UUID

from ledger.application.channel_preferences import ChannelPreferences
from ledger.application.contacts import ContactRegistry
from ledger.application.evidence import Client, evidence
from ledger.consent import Consent, Evidence, consent_id, open_consent
from ledger.contact import Contact
from ledger.errors import NotFoundError
from ledger.program import Program
from ledger.vocabulary import Actor


class Unsubscribe:
    def __init__(self, registry: ContactRegistry, preferences: ChannelPreferences) -> None:
        self.registry = registry
        self.repository = registry.repository
        self.preferences = preferences

    async def program_of(self, contact_id: UUID, optin_id: UUID) -> Program | None:
        """The program a link unsubscribes from; None once the contact is erased (nothing left
        to opt out) or the program is unknown."""
        program = await self.repository.find(Program, optin_id)
        if program is None or await self.registry.keys.get(contact_id) is None:
            return None
        return program

    async def by_link(
        self, contact_id: UUID, optin_id: UUID, client: Client, *, everything: bool
    ) -> tuple[Program, int] | None:
        """What a link's POST does: opt out of its program's email (or, `everything`, of all email);
        the program and the ledger position, or None when there is nobody left to opt out."""
        program = await self.program_of(contact_id, optin_id)
        if program is None:
            return None
        try:
            if everything:
                return program, await self.from_everything(contact_id, client)
            return program, await self.from_program(contact_id, optin_id, client)
        except NotFoundError:  # erased meanwhile
            return None

    async def from_program(self, contact_id: UUID, optin_id: UUID, client: Client) -> int:
        """Opt out of one program's email; the ledger position (unchanged if already out)."""
        proof = await self._evidence(contact_id, client)
        found = await self.repository.find(Consent, consent_id(contact_id, optin_id, "email"))
        consent = found or open_consent(contact_id, optin_id, "email")
        if consent.status != "opted_out":
            consent.withdraw(proof)
        return await self.repository.save(consent)

    async def from_everything(self, contact_id: UUID, client: Client) -> int:
        """Opt out of every program's email and block the channel (transactional mail too)."""
        proof = await self._evidence(contact_id, client)
        changed = await self.preferences.opt_out_everywhere(contact_id, "email", proof)
        return await self.repository.save(*changed)

    async def _evidence(self, contact_id: UUID, client: Client) -> Evidence:
        contact = await self.repository.get(Contact, contact_id)
        contact.require_live()
        key = await self.registry.keys.get(contact_id)
        if key is None:
            raise NotFoundError(f"no contact with id {contact_id}")
        actor = Actor(kind="contact", id=str(contact_id))
        return evidence(self.registry.sealer, key, actor=actor, source="email_one_click", client=client)
