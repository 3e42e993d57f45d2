"""Contact self-service steps shared by the JSON routes (`api/routes/public.py`) and the pages.

Asking for a code answers the same, after the same work, whether the address is known or not:
registration and the code are done in the background, so neither the answer nor its timing tells
anyone whether an address is a contact. Confirming gives the same refusal for an unknown address
as for a wrong code.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from uuid import UUID

import msgspec

from api.services import Services
from ledger.address import Address, normalise
from ledger.consent_flows import Client
from ledger.errors import VerificationError
from ledger.vocabulary import Actor, Channel, ConsentStatus
from projections import consent_state, verifications
from projections.programs import list_programs
from projections.runner import ProjectionLagError, wait_for_position


class OwnConsent(msgspec.Struct, frozen=True, kw_only=True):
    optin_id: UUID
    name: str
    description: str
    purpose: str
    channel: Channel
    status: ConsentStatus
    since: datetime | None
    disclosure: str
    disclosure_version: int


def address_of(services: Services, channel: Channel, raw: str) -> Address:
    """The normalised address, or `InvalidValueError` saying what is wrong with it."""
    return normalise(channel, raw, default_region=services.settings.default_region)


async def send_code(services: Services, address: Address, client: Client) -> None:
    """Check the public rate limits (shared by API and pages), then send a code in the background."""
    sealer = services.contacts.sealer
    client_index = sealer.blind_index("client:" + client.ip) if client.ip else None
    await services.guardrails.public_code(address, sealer.blind_index(address.value), client_index)
    services.background.spawn(_register_and_send(services, address), "self-service code")


async def _register_and_send(services: Services, address: Address) -> None:
    registration = await services.contacts.register(address, Actor(kind="contact"))
    await services.flows.start_self_service(registration.contact_id)


async def confirm_code(services: Services, address: Address, code: str) -> tuple[UUID, UUID]:
    """The contact id and the confirmed verification once `code` proves `address`;
    `VerificationError` otherwise."""
    contact_id = await services.contacts.find(address)
    with contextlib.suppress(ProjectionLagError):
        await wait_for_position(services.pool, await services.store.head(), ["verifications"], 2.0)
    verification_id = (
        await verifications.latest_open_self_service(services.pool, contact_id, services.flows.clock.now())
        if contact_id
        else None
    )
    if contact_id is None or verification_id is None:  # the same answer as a wrong code
        raise VerificationError("the code is wrong", "wrong")
    await services.flows.confirm_self_service(contact_id, verification_id, code.strip())
    return contact_id, verification_id


async def own_consents(services: Services, contact_id: UUID, channel: Channel) -> list[OwnConsent]:
    """The contact's consent for every live program on their channel (`unknown` where none)."""
    mine = {
        c.optin_id: c.decision for c in await consent_state.decisions_of(services.pool, contact_id, channel)
    }
    programs = [
        p for p in await list_programs(services.pool, include_archived=False) if channel in p.channels
    ]
    return [
        OwnConsent(
            optin_id=p.id,
            name=p.name,
            description=p.description,
            purpose=p.purpose,
            channel=channel,
            status=mine[p.id].status if p.id in mine else "unknown",
            since=mine[p.id].since if p.id in mine else None,
            disclosure=p.disclosure,
            disclosure_version=p.disclosure_version,
        )
        for p in programs
    ]


async def set_own(
    services: Services,
    contact_id: UUID,
    optin_id: UUID,
    action: str,
    client: Client,
    *,
    shown_version: int | None = None,
    proof: UUID | None = None,
) -> int:
    """A verified contact's own change, at once; waits (briefly) until the read models show it.

    `proof`: the code just confirmed, if any (else the contact's latest confirmed code).
    """
    if proof is None:  # the code may have been confirmed a moment ago: let the read model see it
        with contextlib.suppress(ProjectionLagError):
            await wait_for_position(services.pool, await services.store.head(), ["verifications"], 2.0)
        proof = await verifications.latest_confirmed(services.pool, contact_id)
    result = await services.flows.set_own(
        contact_id,
        proof,
        optin_id,
        "opt_in" if action == "opt_in" else "opt_out",
        client,
        shown_version=shown_version,
    )
    with contextlib.suppress(ProjectionLagError):
        await wait_for_position(services.pool, result.position, ["consent_state", "optins"], 2.0)
    return result.position
