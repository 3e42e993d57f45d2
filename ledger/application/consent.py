"""Consent changes on one (contact, program, channel): requests that wait for the contact's code,
the code's confirmation, a verified contact's own change, and an opt-out recorded on their behalf.

Nothing here opts anyone in without proof: a request records `pending` and sends a code; only a
confirmed verification of that contact (or an SMS reply from the number) grants consent. Opting
out is never harder: a verified contact does it at once, and so do staff and applications
recording an opt-out the contact asked them for (`record_opt_out`), with no code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from ledger.application.contacts import ContactRegistry
from ledger.application.email_feedback import proof_streams, released_by_proof
from ledger.application.evidence import Client, evidence
from ledger.consent import Consent, Evidence, consent_id, open_consent
from ledger.contact import Contact
from ledger.errors import (
    DisclosureChangedError,
    InvalidCommandError,
    InvalidValueError,
    NotFoundError,
    VerificationError,
)
from ledger.ports import Clock, Codes
from ledger.program import Program
from ledger.repository import Repository
from ledger.verification import Attempt, Verification, issue_verification
from ledger.vocabulary import CHANNELS, Action, Actor, ConsentStatus, Source, checked_text

__all__ = ["Client", "ConsentFlows", "Result", "on_behalf_source"]


@dataclass(frozen=True, slots=True)
class Result:
    position: int
    status: ConsentStatus | None = None
    verification_id: UUID | None = None
    contact_id: UUID | None = None


_MESSAGES = {
    Attempt.WRONG: "the code is wrong",
    Attempt.LOCKED: "too many wrong codes: this code is locked, ask for a new one",
    Attempt.EXPIRED: "the code has expired, ask for a new one",
    Attempt.USED: "the code was already used",
}


def on_behalf_source(actor: Actor) -> Source:
    """How a change made for the contact by `actor` is sourced: `app` for an application's API
    key, `admin` for staff (and the system)."""
    return "app" if actor.kind == "api_key" else "admin"


def _ended_request(verification: Verification, outcome: Attempt) -> UUID | None:
    """The consent stream whose pending request this attempt ends (confirmed, or its code never
    usable now), if the verification was sent for one."""
    if verification.optin_id is None or outcome not in (Attempt.CONFIRMED, Attempt.LOCKED, Attempt.EXPIRED):
        return None
    return consent_id(verification.contact_id, verification.optin_id, verification.channel)


class ConsentFlows:
    def __init__(self, repository: Repository, registry: ContactRegistry, codes: Codes, clock: Clock) -> None:
        self.repository = repository
        self.registry = registry
        self.codes = codes
        self.clock = clock

    async def request(
        self, contact_id: UUID, optin_id: UUID, action: Action, actor: Actor, client: Client
    ) -> Result:
        """Staff or an application ask; the contact decides with the code we send."""
        program, contact, consent = await self._load(optin_id, contact_id)
        key = await self._key(contact_id)
        verification = self._issue(contact, key, actor, optin_id=optin_id, action=action)
        shown = program if action == "opt_in" else None
        consent.request(
            action,
            verification.id,
            self._evidence(key, actor, "api", client, verification_id=verification.id, shown=shown),
        )
        position = await self.repository.save(verification, consent)
        return Result(position, consent.status, verification.id, contact_id)

    async def confirm(
        self, verification_id: UUID, code: str, client: Client, relay: Actor | None = None
    ) -> Result:
        """The contact's code: applies the pending change it was sent for. `relay`: the API key or
        staff member who passed the code on (the evidence names them), None when the contact
        typed it in themselves."""
        verification = await self.repository.get(Verification, verification_id)
        outcome = verification.attempt(self.codes.hash(verification_id, code), self.clock.now())
        changed: list[Aggregate] = [verification]
        proven = outcome is Attempt.CONFIRMED  # the address is proven: bounces no longer hold it back
        asked = _ended_request(verification, outcome)
        read = await self.repository.read(
            *(proof_streams(verification) if proven else ()), *([asked] if asked else ())
        )
        if proven:
            changed += released_by_proof(read, verification, self.clock.now())
        consent = None
        if asked is not None:
            consent = read.get(Consent, asked)
            if outcome is Attempt.CONFIRMED:
                await self._decide(consent, verification, client, relay)
            else:  # the code can never be used now: the request it carried ends undecided
                consent.lapse(verification_id)
            changed.append(consent)
        position = await self.repository.save(*changed)
        if outcome is not Attempt.CONFIRMED:
            left = max(0, 5 - verification.failures) if outcome is Attempt.WRONG else None
            raise VerificationError(_MESSAGES[outcome], outcome.value, left, position)
        status = consent.status if consent else None
        return Result(position, status, verification_id, verification.contact_id)

    async def start_self_service(self, contact_id: UUID) -> Result:
        """A code for a contact who wants to manage their own consent."""
        contact = await self.repository.get(Contact, contact_id)
        contact.require_live()
        key = await self._key(contact_id)
        verification = self._issue(contact, key, Actor(kind="contact", id=str(contact_id)))
        position = await self.repository.save(verification)
        return Result(position, verification_id=verification.id, contact_id=contact_id)

    async def confirm_self_service(self, contact_id: UUID, verification_id: UUID, code: str) -> Result:
        verification = await self.repository.get(Verification, verification_id)
        if verification.contact_id != contact_id or verification.optin_id is not None:
            raise VerificationError(_MESSAGES[Attempt.WRONG], Attempt.WRONG.value)
        return await self.confirm(verification_id, code, Client())

    async def set_own(
        self,
        contact_id: UUID,
        verification_id: UUID | None,
        optin_id: UUID,
        action: Action,
        client: Client,
        source: Source = "web",
        shown_version: int | None = None,
    ) -> Result:
        """A verified contact opts in or out themselves: it takes effect at once.

        `shown_version`: the disclosure version the contact was shown (pages pass it); an opt-in
        is refused if the program's text changed since, so the evidence never names a text the
        contact did not see.
        """
        program, _, consent = await self._load(optin_id, contact_id)
        if action == "opt_in" and shown_version is not None and shown_version != program.disclosure_version:
            raise DisclosureChangedError("the program's disclosure text changed; read the new text")
        key = await self._key(contact_id)
        actor = Actor(kind="contact", id=str(contact_id))
        target: ConsentStatus = "opted_in" if action == "opt_in" else "opted_out"
        if consent.status == target:
            return Result(await self.repository.store.head(), consent.status, contact_id=contact_id)
        shown = program if action == "opt_in" else None
        proof = self._evidence(key, actor, source, client, verification_id=verification_id, shown=shown)
        if action == "opt_in":
            consent.grant(proof)
        else:
            consent.withdraw(proof)
        return Result(await self.repository.save(consent), consent.status, contact_id=contact_id)

    async def record_opt_out(
        self, contact_id: UUID, optin_id: UUID, reason: str | None, actor: Actor, client: Client
    ) -> Result:
        """An opt-out the contact asked staff or an application for (phone, letter, an in-app
        button): at once, no code; the evidence names the actor, `admin` or `app`, and the reason."""
        if reason is not None:  # sealed, a blank reason would pass as one
            checked_text(reason, "reason", max_length=500, multiline=True)
        _, _, consent = await self._load(optin_id, contact_id, allow_archived=True)
        key = await self._key(contact_id)
        consent.withdraw(self._evidence(key, actor, on_behalf_source(actor), client, reason=reason))
        return Result(await self.repository.save(consent), consent.status, contact_id=contact_id)

    async def _decide(
        self, consent: Consent, verification: Verification, client: Client, relay: Actor | None
    ) -> None:
        if consent.pending != verification.id or verification.action is None:
            raise InvalidCommandError("this code is not for the consent change pending now")
        key = await self._key(consent.contact_id)
        asked = consent.pending_evidence
        contact = Actor(kind="contact", id=str(consent.contact_id))
        source: Source = "web" if relay is None else on_behalf_source(relay)
        proof = msgspec.structs.replace(
            evidence(
                self.registry.sealer,
                key,
                actor=contact,
                source=source,
                client=client,
                verification_id=verification.id,
                relay=relay,
            ),
            # the text the request showed: the contact's code accepts what they were asked
            disclosure_version=asked.disclosure_version if asked else None,
            disclosure_sha256=asked.disclosure_sha256 if asked else None,
        )
        if verification.action == "opt_in":
            consent.grant(proof)
        else:
            consent.withdraw(proof)

    async def _load(
        self, optin_id: UUID, contact_id: UUID, *, allow_archived: bool = False
    ) -> tuple[Program, Contact, Consent]:
        """The program, the contact and their consent, in one read: the contact's consent stream
        is read for every channel, since which one is the contact's shows only once it is read."""
        consents = {channel: consent_id(contact_id, optin_id, channel) for channel in CHANNELS}
        read = await self.repository.read(optin_id, contact_id, *consents.values())
        program = read.get(Program, optin_id)
        if program.archived and not allow_archived:
            raise InvalidCommandError("the program is archived")
        contact = read.get(Contact, contact_id)
        contact.require_live()
        if contact.channel not in program.channels:
            raise InvalidValueError(f"the program does not use the {contact.channel} channel")
        consent = read.find(Consent, consents[contact.channel])
        return program, contact, consent or open_consent(contact.id, optin_id, contact.channel)

    async def _key(self, contact_id: UUID) -> bytes:
        key = await self.registry.keys.get(contact_id)
        if key is None:
            raise NotFoundError(f"no contact with id {contact_id}")
        return key

    def _issue(
        self,
        contact: Contact,
        key: bytes,
        actor: Actor,
        *,
        optin_id: UUID | None = None,
        action: Action | None = None,
    ) -> Verification:
        code, verification_id = self.codes.new(), uuid.uuid4()
        return issue_verification(
            verification_id,
            contact_id=contact.id,
            channel=contact.channel,
            code_hash=self.codes.hash(verification_id, code),
            sealed_code=self.registry.sealer.seal(key, code),
            now=self.clock.now(),
            optin_id=optin_id,
            action=action,
            actor=actor,
        )

    def _evidence(
        self,
        key: bytes,
        actor: Actor,
        source: Source,
        client: Client,
        *,
        verification_id: UUID | None = None,
        shown: Program | None = None,
        reason: str | None = None,
    ) -> Evidence:
        return evidence(
            self.registry.sealer,
            key,
            actor=actor,
            source=source,
            client=client,
            verification_id=verification_id,
            shown=shown,
            reason=reason,
        )
