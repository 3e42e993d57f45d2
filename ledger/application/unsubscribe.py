"""One-click email unsubscribes (RFC 8058): from one program, or from every email at once.

The signed link in the message proves who clicked (nobody else got it), so the opt-out takes
effect at once, with no code: opting out is never harder than opting in.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from ledger.channel_preferences import ChannelPreferences
from ledger.consent import Consent, Evidence, consent_id, open_consent
from ledger.consent_flows import Client
from ledger.contact import Contact
from ledger.errors import NotFoundError
from ledger.registry import ContactRegistry
from ledger.vocabulary import Actor


class Unsubscribe:
    def __init__(self, registry: ContactRegistry, preferences: ChannelPreferences) -> None:
        self.registry = registry
        self.repository = registry.repository
        self.preferences = preferences

    async def from_program(self, contact_id: UUID, optin_id: UUID, client: Client) -> int:
        """Opt out of one program's email; the ledger position (unchanged if already out)."""
        evidence = await self._evidence(contact_id, client)
        found = await self.repository.find(Consent, consent_id(contact_id, optin_id, "email"))
        consent = found or open_consent(contact_id, optin_id, "email")
        if consent.status != "opted_out":
            consent.withdraw(evidence)
        return await self.repository.save(consent)

    async def from_everything(self, contact_id: UUID, client: Client) -> int:
        """Opt out of every program's email and block the channel (transactional mail too)."""
        evidence = await self._evidence(contact_id, client)
        changed = await self.preferences.opt_out_everywhere(contact_id, "email", evidence)
        return await self.repository.save(*changed)

    async def _evidence(self, contact_id: UUID, client: Client) -> Evidence:
        contact = await self.repository.get(Contact, contact_id)
        contact.require_live()
        key = await self.registry.keys.get(contact_id)
        if key is None:
            raise NotFoundError(f"no contact with id {contact_id}")
        sealed = None
        if client.ip or client.user_agent:
            plain = msgspec.json.encode({"ip": client.ip, "user_agent": client.user_agent}).decode()
            sealed = self.registry.sealer.seal(key, plain)
        return Evidence(
            actor=Actor(kind="contact", id=str(contact_id)), source="email_one_click", sealed_client=sealed
        )
