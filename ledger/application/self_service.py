"""Contact self-service, shared by the JSON routes (`/v1/public/*`) and the contact pages.

Asking for a code answers the same, after the same work, whether the address is known or not:
the public rate limits are checked at once (they hold per address and client, known or not),
registration and the code are done in the background, so neither the answer nor its timing tells
anyone whether an address is a contact. Confirming gives one refusal for everything (`refused`):
an unknown address, a wrong, expired, locked or used code. A verified contact's own change takes
effect at once.
"""

from __future__ import annotations

from uuid import UUID

from ledger.address import Address
from ledger.application.consent import ConsentFlows
from ledger.application.contacts import ContactRegistry
from ledger.application.evidence import Client
from ledger.application.guardrails import Guardrails
from ledger.errors import ConflictError, VerificationError
from ledger.ports import Background, ReadModels, VerificationLookup
from ledger.vocabulary import Action, Actor

_RETRIES = 3
REFUSED = "the code is wrong or no longer valid; check it, or ask for a new one"


def refused() -> VerificationError:
    """The one refusal of a public code, whatever the reason: an unknown address, no open code,
    a wrong, expired, locked or used code all look alike (no attempts left, no ledger position,
    no stream id), so the answer tells nobody whether an address has a code waiting."""
    return VerificationError(REFUSED, "refused")


class SelfService:
    def __init__(
        self,
        contacts: ContactRegistry,
        flows: ConsentFlows,
        guardrails: Guardrails,
        codes: VerificationLookup,
        reads: ReadModels,
        background: Background,
    ) -> None:
        self.contacts = contacts
        self.flows = flows
        self.guardrails = guardrails
        self.codes = codes
        self.reads = reads
        self.background = background

    async def send_code(self, address: Address, client: Client) -> None:
        """Check the public rate limits (`RateLimitedError`), then send a code in the background."""
        sealer = self.contacts.sealer
        client_index = sealer.blind_index("client:" + client.ip) if client.ip else None
        await self.guardrails.public_code(address, sealer.blind_index(address.value), client_index)
        self.background.spawn(self._register_and_send(address), "self-service code")

    async def _register_and_send(self, address: Address) -> None:
        registration = await self.contacts.register(address, Actor(kind="contact"))
        await self.flows.start_self_service(registration.contact_id)

    async def confirm_code(self, address: Address, code: str) -> tuple[UUID, UUID]:
        """The contact and the confirmed verification once `code` proves `address`;
        `VerificationError` otherwise, always the same one (`refused`)."""
        contact_id = await self.contacts.find(address)
        await self.reads.settle(await self.contacts.repository.store.head(), ["verifications"])
        verification_id = (
            await self.codes.latest_open_self_service(contact_id, self.flows.clock.now())
            if contact_id
            else None
        )
        if contact_id is None or verification_id is None:
            raise refused()
        for _ in range(_RETRIES):
            try:
                await self.flows.confirm_self_service(contact_id, verification_id, code.strip())
                return contact_id, verification_id
            except VerificationError:
                raise refused() from None
            except ConflictError:  # another attempt on this code at the same moment: count this one too
                continue
        raise refused()

    async def set_own(
        self,
        contact_id: UUID,
        optin_id: UUID,
        action: Action,
        client: Client,
        *,
        shown_version: int | None = None,
        proof: UUID | None = None,
    ) -> int:
        """A verified contact's own change, at once; waits (briefly) until the read models show it.

        `proof`: the code just confirmed, if any (else the contact's latest confirmed code).
        """
        if proof is None:  # the code may have been confirmed a moment ago: let the read model see it
            await self.reads.settle(await self.contacts.repository.store.head(), ["verifications"])
            proof = await self.codes.latest_confirmed(contact_id)
        result = await self.flows.set_own(
            contact_id, proof, optin_id, action, client, shown_version=shown_version
        )
        await self.reads.settle(result.position, ["consent_state", "optins"])
        return result.position
