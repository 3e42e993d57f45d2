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
from litestar.params import JSONBody, QueryParameter

from adapters.clock import SystemClock
from adapters.webhooks.secrets import WebhookSecrets
from api.auth.guards import allow, principal_of
from api.auth.principal import Principal
from api.services import Services, request_id, written
from ledger.webhook_endpoint import EventType, WebhookEndpoint
from ledger.webhook_registry import WebhookRegistry
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


def _registry(services: Services) -> WebhookRegistry:
    assert services.settings.kek
    return WebhookRegistry(
        services.repository, WebhookSecrets(services.pool, services.settings.kek), SystemClock()
    )


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
    tags = ["webhooks"]  # noqa: RUF012 (Litestar reads it as a class attribute)

    @post(
        "/",
        guards=[allow("service")],
        summary="Register an endpoint (Standard Webhooks); the secret is shown once",
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[NewEndpoint],
        services: NamedDependency[Services],
    ) -> Response[EndpointOut]:
        principal = principal_of(request)
        owner = None if data.for_all_applications and principal.role == "admin" else _owner(principal)
        issued = await _registry(services).register(
            owner, data.url, tuple(data.events), principal.actor(request_id(request))
        )
        return written(_out(issued.endpoint, issued.secret), issued.position, 201)

    @get("/", guards=[allow("service")], summary="The caller's endpoints (an admin: all)")
    async def list_endpoints(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        caught_up: NamedDependency[int | None],
    ) -> list[read.EndpointRow]:
        return await read.endpoints(services.pool, _manager(principal_of(request)))

    @post(
        "/{endpoint_id:uuid}/rotate",
        guards=[allow("service")],
        summary="New secret; the old one signs during the overlap",
    )
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: UUID,
        data: JSONBody[Rotation],
        services: NamedDependency[Services],
    ) -> Response[EndpointOut]:
        principal = principal_of(request)
        issued = await _registry(services).rotate(
            endpoint_id,
            timedelta(seconds=data.overlap_seconds),
            principal.actor(request_id(request)),
            _manager(principal),
        )
        until = SystemClock().now() + timedelta(seconds=data.overlap_seconds)
        return written(_out(issued.endpoint, issued.secret, until), issued.position, 200)

    @delete("/{endpoint_id:uuid}", guards=[allow("service")], status_code=200, summary="Remove an endpoint")
    async def remove(
        self, request: Request[Any, Any, Any], endpoint_id: UUID, services: NamedDependency[Services]
    ) -> Response[dict[str, str]]:
        principal = principal_of(request)
        position = await _registry(services).remove(
            endpoint_id, principal.actor(request_id(request)), _manager(principal)
        )
        assert services.settings.kek
        await WebhookSecrets(services.pool, services.settings.kek).remove(endpoint_id)
        return written({"status": "removed"}, position, 200)

    @get("/{endpoint_id:uuid}/deliveries", guards=[allow("service")], summary="The endpoint's delivery log")
    async def deliveries(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: UUID,
        services: NamedDependency[Services],
        caught_up: NamedDependency[int | None],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[read.DeliveryRow]:
        await _registry(services).get(endpoint_id, _manager(principal_of(request)))
        return await read.deliveries(services.pool, endpoint_id, limit)
