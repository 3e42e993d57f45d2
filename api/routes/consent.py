"""Consent: requests that wait for the contact's code, code confirmation, and consent checks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth.guards import allow, anyone, principal_of
from api.routes.contacts import AddressText
from api.services import Services, client_of, request_id, written
from ledger.address import normalise
from ledger.send_policy import consent_now
from ledger.vocabulary import Action, Channel, ConsentStatus, Reason
from projections import consent_state

Code = Annotated[str, msgspec.Meta(pattern=r"^\s*\d{6}\s*$")]


class ConsentRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Name the contact by id, or by channel and address (registered if new)."""

    optin_id: UUID
    action: Action
    contact_id: UUID | None = None
    channel: Channel | None = None
    address: AddressText | None = None
    source: msgspec.UnsetType | Annotated[str, msgspec.Meta(pattern="^(api|admin)$")] = msgspec.UNSET
    reason: Reason | None = None


class RequestAnswer(msgspec.Struct, frozen=True, kw_only=True):
    contact_id: UUID
    status: ConsentStatus
    verification_id: UUID | None = None


class CodeIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Code


class Confirmed(msgspec.Struct, frozen=True, kw_only=True):
    verification_id: UUID
    status: ConsentStatus | None


class ConsentAnswer(msgspec.Struct, frozen=True, kw_only=True):
    status: ConsentStatus
    since: datetime | None = None
    event_id: int | None = None
    event_topic: str | None = None


class CheckRow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    optin_id: UUID
    channel: Channel
    contact_id: UUID | None = None
    address: AddressText | None = None


class CheckIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: Annotated[list[CheckRow], msgspec.Meta(min_length=1, max_length=1000)]


class CheckOut(msgspec.Struct, frozen=True, kw_only=True):
    contact_id: UUID | None
    status: ConsentStatus
    since: datetime | None = None
    event_id: int | None = None
    event_topic: str | None = None


class ConsentController(Controller):
    tags = ["consent"]  # noqa: RUF012 (Litestar reads it as a class attribute)

    @post("/v1/consent-requests", guards=[allow("staff", "service")], summary="Ask a contact for consent")
    async def request_consent(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ConsentRequest],
        services: NamedDependency[Services],
    ) -> Response[RequestAnswer]:
        return await submit_request(services, request, data)

    @post(
        "/v1/verifications/{verification_id:uuid}/confirm",
        guards=[anyone],
        summary="The contact's code: applies the change it was sent for",
    )
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        verification_id: FromPath[UUID],
        data: JSONBody[CodeIn],
        services: NamedDependency[Services],
    ) -> Response[Confirmed]:
        result = await services.flows.confirm(verification_id, data.code.strip(), client_of(request))
        return written(Confirmed(verification_id=verification_id, status=result.status), result.position, 200)

    @get("/v1/consent", guards=[allow("staff", "service", "auditor")], summary="Consent now, or as of a time")
    async def get_consent(
        self,
        services: NamedDependency[Services],
        caught_up: NamedDependency[int | None],
        optin_id: Annotated[UUID, QueryParameter()],
        channel: Annotated[Channel, QueryParameter()],
        contact_id: Annotated[UUID | None, QueryParameter()] = None,
        address: Annotated[str | None, QueryParameter(max_length=320)] = None,
        as_of: Annotated[datetime | None, QueryParameter(description="answer from the events")] = None,
    ) -> ConsentAnswer:
        if (contact_id is None) == (address is None):
            raise ValidationException("give exactly one of contact_id and address")
        if address is not None:
            found = await services.contacts.find(
                normalise(channel, address, default_region=services.settings.default_region)
            )
            if found is None:
                return ConsentAnswer(status="unknown")
            contact_id = found
        assert contact_id is not None
        if as_of is not None:
            if as_of.tzinfo is None:
                raise ValidationException("as_of needs a time zone (for example 2026-01-31T12:00:00Z)")
            decision = await consent_now(
                services.store, services.repository.mapper, contact_id, optin_id, channel, as_of
            )
        else:
            decision = await consent_state.consent_of(services.pool, contact_id, optin_id, channel)
        return ConsentAnswer(
            status=decision.status,
            since=decision.since,
            event_id=decision.position,
            event_topic=decision.topic,
        )

    @post("/v1/consent/check", guards=[allow("staff", "service")], status_code=200, summary="Bulk check")
    async def check(
        self,
        data: JSONBody[CheckIn],
        services: NamedDependency[Services],
        caught_up: NamedDependency[int | None],
    ) -> list[CheckOut]:
        indexes: list[bytes | None] = []
        for n, item in enumerate(data.items):
            if (item.contact_id is None) == (item.address is None):
                raise ValidationException(f"item {n}: give exactly one of contact_id and address")
            indexes.append(
                services.contacts.sealer.blind_index(
                    normalise(
                        item.channel, item.address, default_region=services.settings.default_region
                    ).value
                )
                if item.address is not None
                else None
            )
        rows = await consent_state.check_many(
            services.pool,
            [i.contact_id for i in data.items],
            indexes,
            [i.optin_id for i in data.items],
            [i.channel for i in data.items],
        )
        return [
            CheckOut(
                contact_id=r.contact_id,
                status=r.decision.status,
                since=r.decision.since,
                event_id=r.decision.position,
                event_topic=r.decision.topic,
            )
            for r in rows
        ]


async def submit_request(
    services: Services, request: Request[Any, Any, Any], data: ConsentRequest
) -> Response[RequestAnswer]:
    """Ask the contact (a code goes out; 202), or record an opt-out asked for elsewhere (200).

    Shared by `POST /v1/consent-requests` and the console's consent-request form.
    """
    principal = principal_of(request)
    actor = principal.actor(request_id(request))
    contact_id = await _contact(services, data, actor)
    if data.source == "admin":
        if principal.role not in ("admin", "staff") or data.action != "opt_out" or not data.reason:
            raise PermissionDeniedException(
                "only staff may record an opt-out asked for elsewhere, and only with a reason"
            )
        result = await services.flows.record_opt_out(
            contact_id, data.optin_id, data.reason, actor, client_of(request)
        )
        body = RequestAnswer(contact_id=contact_id, status=result.status or "opted_out")
        return written(body, result.position, 200)
    await services.guardrails.staff_code(contact_id)
    result = await services.flows.request(contact_id, data.optin_id, data.action, actor, client_of(request))
    body = RequestAnswer(
        contact_id=contact_id, status=result.status or "pending", verification_id=result.verification_id
    )
    return written(body, result.position, 202)


async def _contact(services: Services, data: ConsentRequest, actor: Any) -> UUID:
    if data.contact_id is not None:
        if data.channel is not None or data.address is not None:
            raise ValidationException("give contact_id, or channel and address, not both")
        return data.contact_id
    if data.channel is None or data.address is None:
        raise ValidationException("give contact_id, or channel and address")
    address = normalise(data.channel, data.address, default_region=services.settings.default_region)
    return (await services.contacts.register(address, actor)).contact_id
