"""Audit API for auditors (and admins): the ledger in order with its hashes, and the verifiable export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from adapters.postgres.audit_export import PostgresAuditExport
from adapters.postgres.event_store import PostgresEventStore
from api.auth.guards import allow
from api.dependencies import MAX_INTEGER, components
from ledger.masking import scrub
from ledger.ports import RecordedEvent


class AuditEvent(msgspec.Struct, kw_only=True):
    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    recorded_at: datetime
    hash: str
    state: Any = None
    """The stored JSON: personal fields are ciphertext already, and free text is masked too."""


class AuditPage(msgspec.Struct, kw_only=True):
    events: list[AuditEvent]
    next_after: int | None


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _view(event: RecordedEvent) -> AuditEvent:
    try:
        state: Any = _masked(msgspec.json.decode(event.state))
    except msgspec.DecodeError:
        state = None  # not JSON (never written by this service): shown by its hash only
    return AuditEvent(
        position=event.notification_id,
        originator_id=event.originator_id,
        originator_version=event.originator_version,
        topic=event.topic,
        recorded_at=event.recorded_at,
        hash=bytes(event.hash).hex(),
        state=state,
    )


class AuditController(Controller):
    path = "/v1/audit"
    guards = (allow("auditor"),)
    tags = ("audit",)
    dependencies = components("store", "audit")

    @get("/events", summary="The ledger in order, with hashes; personal data masked or encrypted")
    async def events(
        self,
        store: NamedDependency[PostgresEventStore],
        caught_up: NamedDependency[int | None],
        after: Annotated[
            int, QueryParameter(ge=0, le=MAX_INTEGER, description="Return events after this position.")
        ] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> AuditPage:
        found = await store.read_after(after, limit)
        next_after = found[-1].notification_id if len(found) == limit else None
        return AuditPage(events=[_view(e) for e in found], next_after=next_after)

    @get(
        "/export",
        summary="The ledger with its hash chain as NDJSON; `optin-ledger audit verify FILE` checks it",
        media_type="application/x-ndjson",
    )
    async def export(
        self,
        audit: NamedDependency[PostgresAuditExport],
        after: Annotated[
            int, QueryParameter(ge=0, le=MAX_INTEGER, description="Export events after this position.")
        ] = 0,
    ) -> Stream:
        lines, filename = await audit.lines(after)
        return Stream(
            lines,
            media_type="application/x-ndjson",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
