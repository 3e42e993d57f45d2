"""Consent requests and codes: ask a contact (a code goes out) or record the opt-out they asked
for (at once); and the contact's code, which applies the change it was sent for."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from api.answers import written
from api.auth.guards import allow, anyone
from api.dependencies import components
from api.routes.contacts import AddressText
from ledger.application.consent import ConsentFlows
from ledger.application.consent_requests import AskedSource, ConsentRequests, RequestConsent
from ledger.application.evidence import Client
from ledger.vocabulary import Action, Actor, Channel, ConsentStatus, Reason

Code = Annotated[str, msgspec.Meta(pattern=r"^\s*\d{6}\s*$")]


class ConsentRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Name the contact by id, or by channel and address (registered if new). `opt_in` asks the
    contact (a code goes out, 202); `opt_out` records the opt-out they asked for, at once (200)."""

    optin_id: UUID
    action: Action
    contact_id: UUID | None = None
    channel: Channel | None = None
    address: AddressText | None = None
    source: AskedSource | None = None
    reason: Reason | None = None

    def command(self) -> RequestConsent:
        return RequestConsent(**msgspec.structs.asdict(self))


class RequestAnswer(msgspec.Struct, frozen=True, kw_only=True):
    contact_id: UUID
    status: ConsentStatus
    verification_id: UUID | None = None


class CodeIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Code


class CodeAnswer(msgspec.Struct, frozen=True, kw_only=True):
    verification_id: UUID
    status: ConsentStatus | None


class ConsentRequestsController(Controller):
    tags = ("consent",)
    dependencies = components("consent_requests", "flows")

    @post(
        "/v1/consent-requests",
        guards=[allow("staff", "service")],
        status_code=202,
        summary="Ask a contact for consent (a code goes out), or record their opt-out at once",
        responses={200: ResponseSpec(RequestAnswer, description="`opt_out`: recorded at once.")},
        opt={"problems": {429: "Too many codes for this address: try again after `Retry-After`."}},
    )
    async def request_consent(
        self,
        data: JSONBody[ConsentRequest],
        consent_requests: NamedDependency[ConsentRequests],
        actor: NamedDependency[Actor],
        client: NamedDependency[Client],
    ) -> Response[RequestAnswer]:
        result = await consent_requests.submit(data.command(), actor, client)
        assert result.contact_id is not None and result.status is not None
        body = RequestAnswer(
            contact_id=result.contact_id, status=result.status, verification_id=result.verification_id
        )
        return written(body, result.position, 202 if result.verification_id else 200)

    @post(
        "/v1/verifications/{verification_id:uuid}/confirm",
        guards=[anyone],
        status_code=200,
        summary="The contact's code: applies the change it was sent for",
        opt={
            "problems": {
                409: "The change was already applied or withdrawn.",
                422: "The code is wrong or expired.",
            }
        },
    )
    async def confirm(
        self,
        verification_id: FromPath[UUID],
        data: JSONBody[CodeIn],
        flows: NamedDependency[ConsentFlows],
        client: NamedDependency[Client],
        relay: NamedDependency[Actor | None],
    ) -> Response[CodeAnswer]:
        result = await flows.confirm(verification_id, data.code.strip(), client, relay)
        body = CodeAnswer(verification_id=verification_id, status=result.status)
        return written(body, result.position, 200)
