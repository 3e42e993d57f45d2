"""Contact self-service: prove an address with a code, then see and change one's own consent.

`POST /v1/public/verifications` answers 202 with the same body, after the same work, whether the
address is known or not: the code is made and sent in the background, so neither the answer nor
its timing tells anyone whether an address is a contact.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from api.auth.guards import anyone, contact_only, principal_of
from api.auth.tokens import CONTACT_TOKEN_TTL, issue_contact_token
from api.routes.consent import Code
from api.routes.contacts import AddressText
from api.services import Services, client_of, written
from ledger.address import Address, normalise
from ledger.errors import VerificationError
from ledger.vocabulary import Action, Actor, Channel, ConsentStatus
from projections import consent_state, verifications
from projections.optins import list_programs
from projections.runner import ProjectionLagError, wait_for_position


class AddressIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    channel: Channel
    address: AddressText


class ConfirmIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    channel: Channel
    address: AddressText
    code: Code


class Accepted(msgspec.Struct, frozen=True, kw_only=True):
    status: str = "accepted"
    detail: str = "If this address can receive messages, a code is on its way."


class Session(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int


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


class Me(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    channel: Channel
    address: str
    consents: list[OwnConsent]


class OwnChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    optin_id: UUID
    action: Action


class PublicController(Controller):
    path = "/v1/public"
    tags = ["contact self-service"]  # noqa: RUF012 (Litestar reads it as a class attribute)

    @post("/verifications", guards=[anyone], status_code=202, summary="Send me a code")
    async def start(
        self, request: Request[Any, Any, Any], data: JSONBody[AddressIn], services: NamedDependency[Services]
    ) -> Accepted:
        address = _address(services, data.channel, data.address)
        client = client_of(request)
        sealer = services.contacts.sealer
        client_index = sealer.blind_index("client:" + client.ip) if client.ip else None
        await services.guardrails.public_code(address, sealer.blind_index(address.value), client_index)
        services.background.spawn(_send_code(services, address), "self-service code")
        return Accepted()

    @post("/verifications/confirm", guards=[anyone], status_code=200, summary="My code: a session")
    async def confirm(self, data: JSONBody[ConfirmIn], services: NamedDependency[Services]) -> Session:
        address = _address(services, data.channel, data.address)
        contact_id = await services.contacts.find(address)
        with contextlib.suppress(ProjectionLagError):
            await wait_for_position(services.pool, await services.store.head(), ["verifications"], 2.0)
        verification_id = (
            await verifications.latest_open_self_service(
                services.pool, contact_id, services.flows.clock.now()
            )
            if contact_id
            else None
        )
        if contact_id is None or verification_id is None:  # the same answer as a wrong code
            raise VerificationError("the code is wrong", "wrong")
        await services.flows.confirm_self_service(contact_id, verification_id, data.code.strip())
        token = issue_contact_token(services.settings.token_key, contact_id, verification_id=verification_id)
        return Session(access_token=token, expires_in=int(CONTACT_TOKEN_TTL.total_seconds()))

    @get("/me", guards=[contact_only], summary="My address and my consent, per program")
    async def me(self, request: Request[Any, Any, Any], services: NamedDependency[Services]) -> Me:
        contact_id = _contact(request)
        address = await services.contacts.address_of(contact_id)
        return Me(
            id=contact_id,
            channel=address.channel,
            address=address.value,
            consents=await _own_consents(services, contact_id, address.channel),
        )

    @post("/me/consents", guards=[contact_only], summary="Opt in or out myself, at once")
    async def change(
        self, request: Request[Any, Any, Any], data: JSONBody[OwnChange], services: NamedDependency[Services]
    ) -> Response[OwnConsent]:
        contact_id = _contact(request)
        proof = principal_of(request).verification_id or await verifications.latest_confirmed(
            services.pool, contact_id
        )
        result = await services.flows.set_own(
            contact_id,
            proof,
            data.optin_id,
            data.action,
            client_of(request),
        )
        address = await services.contacts.address_of(contact_id)
        with contextlib.suppress(ProjectionLagError):
            await wait_for_position(services.pool, result.position, ["consent_state", "optins"], 2.0)
        mine = [
            c
            for c in await _own_consents(services, contact_id, address.channel)
            if c.optin_id == data.optin_id
        ]
        return written(mine[0], result.position, 200)


def _address(services: Services, channel: Channel, raw: str) -> Address:
    return normalise(channel, raw, default_region=services.settings.default_region)


def _contact(request: Request[Any, Any, Any]) -> UUID:
    principal = principal_of(request)
    assert principal.contact_id is not None
    return principal.contact_id


async def _send_code(services: Services, address: Address) -> None:
    registration = await services.contacts.register(address, Actor(kind="contact"))
    await services.flows.start_self_service(registration.contact_id)


async def _own_consents(services: Services, contact_id: UUID, channel: Channel) -> list[OwnConsent]:
    mine = {r["optin_id"]: r for r in await consent_state.consents_of(services.pool, contact_id)}
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
            status=mine[p.id]["status"] if p.id in mine else "unknown",
            since=mine[p.id]["since"] if p.id in mine else None,
            disclosure=p.disclosure,
            disclosure_version=p.disclosure_version,
        )
        for p in programs
    ]
