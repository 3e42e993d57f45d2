"""Webhook endpoints of applications: register, list, rotate the secret, remove, the delivery log.

An application (service key) manages its own endpoints; an admin manages any, and may register
one that receives every application's events (`for_all_applications`). The secret is shown once,
in the answer that created it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.postgres.replica import ReadDatabase
from api.answers import written
from api.auth.guards import allow, principal_of
from api.auth.principal import Principal
from api.dependencies import components
from ledger.application.webhooks import WebhookRegistry
from ledger.vocabulary import Actor
from ledger.webhook_endpoint import EventType, WebhookEndpoint
from projections import webhook_log as read


class NewEndpoint(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    events: Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=3)]
    for_all_applications: bool = False


class Rotation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    overlap_seconds: Annotated[int, msgspec.Meta(ge=0, le=7 * 86400)] = 86400


class EndpointOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    url: str
    events: list[str]
    owner: str | None
    secret: str | None = None
    """Only in the answer that created the secret (registration, rotation): keep it, it is not shown again."""
    previous_secret_until: datetime | None = None


def _owner(principal: Principal) -> str:
    return f"{principal.kind}:{principal.id}"


def _manager(principal: Principal) -> str | None:
    """Whose endpoints the caller may manage: None for an admin (any)."""
    return None if principal.role == "admin" else _owner(principal)


def _out(endpoint: WebhookEndpoint, secret: str | None, until: datetime | None = None) -> EndpointOut:
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        events=list(endpoint.event_types),
        owner=endpoint.owner,
        secret=secret,
        previous_secret_until=until,
    )


class WebhookEndpointsController(Controller):
    path = "/v1/webhook-endpoints"
    tags = ("webhooks",)
    dependencies = components("webhooks")

    @post(
        "/",
        guards=[allow("service")],
        summary="Register an endpoint (Standard Webhooks); the secret is shown once",
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[NewEndpoint],
        webhooks: NamedDependency[WebhookRegistry],
        actor: NamedDependency[Actor],
    ) -> Response[EndpointOut]:
        principal = principal_of(request)
        owner = None if data.for_all_applications and principal.role == "admin" else _owner(principal)
        issued = await webhooks.register(owner, data.url, tuple(data.events), actor)
        return written(_out(issued.endpoint, issued.secret), issued.position, 201)

    @get("/", guards=[allow("service")], summary="The caller's endpoints (an admin: all)")
    async def list_endpoints(
        self,
        request: Request[Any, Any, Any],
        read_db: NamedDependency[ReadDatabase],
    ) -> list[read.EndpointRow]:
        return await read.endpoints(read_db, _manager(principal_of(request)))

    @post(
        "/{endpoint_id:uuid}/rotate",
        guards=[allow("service")],
        status_code=200,
        summary="New secret; the old one signs during the overlap",
    )
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: FromPath[UUID],
        data: JSONBody[Rotation],
        webhooks: NamedDependency[WebhookRegistry],
        actor: NamedDependency[Actor],
    ) -> Response[EndpointOut]:
        overlap = timedelta(seconds=data.overlap_seconds)
        issued = await webhooks.rotate(endpoint_id, overlap, actor, _manager(principal_of(request)))
        return written(_out(issued.endpoint, issued.secret, issued.previous_until), issued.position, 200)

    @delete("/{endpoint_id:uuid}", guards=[allow("service")], status_code=200, summary="Remove an endpoint")
    async def remove(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: FromPath[UUID],
        webhooks: NamedDependency[WebhookRegistry],
        actor: NamedDependency[Actor],
    ) -> Response[dict[str, str]]:
        position = await webhooks.remove(endpoint_id, actor, _manager(principal_of(request)))
        return written({"status": "removed"}, position, 200)

    @get("/{endpoint_id:uuid}/deliveries", guards=[allow("service")], summary="The endpoint's delivery log")
    async def deliveries(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: FromPath[UUID],
        webhooks: NamedDependency[WebhookRegistry],
        read_db: NamedDependency[ReadDatabase],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[read.DeliveryRow]:
        await webhooks.get(endpoint_id, _manager(principal_of(request)))
        return await read.deliveries(read_db, endpoint_id, limit)
