"""Consent checks: one (now, or as of a time) and many at once. Requests and codes:
`api/routes/consent_requests.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import JSONBody, QueryParameter

from api.auth.guards import allow
from api.routes.contacts import AddressText
from api.services import Services
from ledger.address import normalise
from ledger.send_policy import consent_now
from ledger.vocabulary import Channel, ConsentStatus
from projections import consent_state


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
