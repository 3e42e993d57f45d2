"""Contact self-service: prove an address with a code, then see and change one's own consent.

`POST /v1/public/verifications` answers 202 with the same body, after the same work, whether the
address is known or not: the code is made and sent in the background, so neither the answer nor
its timing tells anyone whether an address is a contact.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.postgres.replica import ReadDatabase
from adapters.settings import Settings
from api.answers import written
from api.auth.guards import anyone, contact_only, principal_of
from api.auth.tokens import CONTACT_TOKEN_TTL, issue_contact_token
from api.dependencies import components
from api.routes.consent_requests import Code
from api.routes.contacts import AddressText
from ledger.application.contacts import ContactRegistry
from ledger.application.evidence import Client
from ledger.application.self_service import SelfService
from ledger.vocabulary import Action, Channel
from projections.own_consents import OwnConsent, own_consents

TOO_MANY = "Too many codes for this address or from this client: try again after `Retry-After`."


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
    tags = ("contact self-service",)
    dependencies = components("self_service", "contacts", "pool", "settings")

    @post(
        "/verifications",
        guards=[anyone],
        status_code=202,
        summary="Send me a code",
        opt={"problems": {429: TOO_MANY}},
    )
    async def start(
        self,
        data: JSONBody[AddressIn],
        self_service: NamedDependency[SelfService],
        contacts: NamedDependency[ContactRegistry],
        client: NamedDependency[Client],
    ) -> Accepted:
        await self_service.send_code(contacts.address(data.channel, data.address), client)
        return Accepted()

    @post(
        "/verifications/confirm",
        guards=[anyone],
        status_code=200,
        summary="My code: a session",
        opt={
            "problems": {
                422: "The code is wrong or expired (`outcome`, `attempts_left`).",
                429: TOO_MANY,
            }
        },
    )
    async def confirm(
        self,
        data: JSONBody[ConfirmIn],
        self_service: NamedDependency[SelfService],
        contacts: NamedDependency[ContactRegistry],
        settings: NamedDependency[Settings],
    ) -> Session:
        address = contacts.address(data.channel, data.address)
        contact_id, verification_id = await self_service.confirm_code(address, data.code)
        token = issue_contact_token(settings.token_key, contact_id, verification_id=verification_id)
        return Session(access_token=token, expires_in=int(CONTACT_TOKEN_TTL.total_seconds()))

    @get("/me", guards=[contact_only], summary="My address and my consent, per program")
    async def me(
        self,
        request: Request[Any, Any, Any],
        contacts: NamedDependency[ContactRegistry],
        read_db: NamedDependency[ReadDatabase],
    ) -> Me:
        contact_id = _contact(request)
        address = await contacts.address_of(contact_id)
        return Me(
            id=contact_id,
            channel=address.channel,
            address=address.value,
            consents=await own_consents(read_db, contact_id, address.channel),
        )

    @post(
        "/me/consents",
        guards=[contact_only],
        status_code=200,
        summary="Opt in or out myself, at once",
        opt={"problems": {404: "No program has this id.", 409: "Not allowed in the current state."}},
    )
    async def change(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[OwnChange],
        self_service: NamedDependency[SelfService],
        contacts: NamedDependency[ContactRegistry],
        pool: NamedDependency[asyncpg.Pool],
        client: NamedDependency[Client],
    ) -> Response[OwnConsent]:
        contact_id = _contact(request)
        proof = principal_of(request).verification_id
        position = await self_service.set_own(contact_id, data.optin_id, data.action, client, proof=proof)
        address = await contacts.address_of(contact_id)
        mine = [
            c for c in await own_consents(pool, contact_id, address.channel) if c.optin_id == data.optin_id
        ]
        return written(mine[0], position, 200)


def _contact(request: Request[Any, Any, Any]) -> UUID:
    principal = principal_of(request)
    assert principal.contact_id is not None
    return principal.contact_id
