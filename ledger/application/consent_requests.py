"""`POST /v1/consent-requests` and the console's request form: ask a contact, or record their opt-out.

The rules: an opt-in always needs the contact's proof, so asking for one sends a code (at most
`Limits.per_contact` codes per contact and hour, whoever asks) and changes nothing until the
contact confirms. An opt-out the contact asked a staff member or an application for takes effect
at once, with no code, ever: source `admin` for staff, `app` for a service key, the actor and an
optional reason in the evidence. A caller may name the source it expects, but not another one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from ledger.application.consent import ConsentFlows, Result, on_behalf_source
from ledger.application.contacts import ContactRegistry
from ledger.application.evidence import Client
from ledger.application.guardrails import Guardrails
from ledger.errors import ForbiddenError, InvalidValueError
from ledger.vocabulary import Action, Actor, Channel

AskedSource = Literal["api", "app", "admin"]
"""What a caller may say: `api` (the default: ask by code, or record as its own kind), `app`
(a service key on the contact's behalf) or `admin` (staff on the contact's behalf)."""


@dataclass(frozen=True, slots=True)
class RequestConsent:
    """Name the contact by id, or by channel and address (registered if new)."""

    optin_id: UUID
    action: Action
    contact_id: UUID | None = None
    channel: Channel | None = None
    address: str | None = None
    source: AskedSource | None = None
    reason: str | None = None


class ConsentRequests:
    def __init__(self, flows: ConsentFlows, contacts: ContactRegistry, guardrails: Guardrails) -> None:
        self.flows = flows
        self.contacts = contacts
        self.guardrails = guardrails

    async def submit(self, command: RequestConsent, actor: Actor, client: Client) -> Result:
        """An opt-out recorded now (no `verification_id`), or an opt-in asked for (pending, a code
        on its way, `verification_id` set)."""
        _check_source(command, actor)
        contact_id = await self._contact(command, actor)
        if command.action == "opt_out":
            optin_id, reason = command.optin_id, command.reason
            return await self.flows.record_opt_out(contact_id, optin_id, reason, actor, client)
        if command.reason is not None:
            raise InvalidValueError("a reason goes with an opt-out recorded for the contact, not an opt-in")
        await self.guardrails.staff_code(contact_id)
        return await self.flows.request(contact_id, command.optin_id, "opt_in", actor, client)

    async def _contact(self, command: RequestConsent, actor: Actor) -> UUID:
        if command.contact_id is not None:
            if command.channel is not None or command.address is not None:
                raise InvalidValueError("give contact_id, or channel and address, not both")
            return command.contact_id
        if command.channel is None or command.address is None:
            raise InvalidValueError("give contact_id, or channel and address")
        registration = await self.contacts.register_text(command.channel, command.address, actor)
        return registration.contact_id


def _check_source(command: RequestConsent, actor: Actor) -> None:
    if command.source in (None, "api"):
        return
    if command.action == "opt_in":
        raise ForbiddenError("an opt-in needs the contact's own proof: ask without a source, a code goes out")
    if command.source != on_behalf_source(actor):
        who = "staff" if command.source == "admin" else "a service key"
        raise ForbiddenError(f"only {who} may record an opt-out with source {command.source}")
