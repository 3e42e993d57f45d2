"""Audit API for auditors (and admins): the ledger in order with its hashes, and the verifiable export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from adapters.postgres.event_store import read_after
from api.auth.guards import allow
from api.services import Services
from ledger.audit_export import header_line, record_line, trailer_line
from ledger.chain import GENESIS_HASH
from ledger.masking import scrub
from ledger.ports import RecordedEvent

_EXPORT_BATCH = 1000


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

    @get("/events", summary="The ledger in order, with hashes; personal data masked or encrypted")
    async def events(
        self,
        services: NamedDependency[Services],
        caught_up: NamedDependency[int | None],
        after: Annotated[int, QueryParameter(ge=0, description="Return events after this position.")] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> AuditPage:
        found = await services.store.read_after(after, limit)
        next_after = found[-1].notification_id if len(found) == limit else None
        return AuditPage(events=[_view(e) for e in found], next_after=next_after)

    @get(
        "/export",
        summary="The ledger with its hash chain as NDJSON; `optin-ledger audit verify FILE` checks it",
        media_type="application/x-ndjson",
    )
    async def export(
        self,
        services: NamedDependency[Services],
        after: Annotated[int, QueryParameter(ge=0, description="Export events after this position.")] = 0,
    ) -> Stream:
        lines, filename = await export_lines(services, after)
        return Stream(
            lines,
            media_type="application/x-ndjson",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


async def export_lines(services: Services, after: int) -> tuple[AsyncIterator[bytes], str]:
    """The export's NDJSON lines from `after` up to the head as it is now, and a file name for it."""
    pool = services.pool
    head = int(await pool.fetchval("SELECT position FROM ledger_head"))
    after = min(after, head)
    prev_hash = GENESIS_HASH
    if after:
        prev_hash = bytes(await pool.fetchval("SELECT hash FROM events WHERE notification_id = $1", after))

    async def lines() -> AsyncIterator[bytes]:
        yield header_line(after, prev_hash)
        position, last_hash, count = after, prev_hash, 0
        async with pool.acquire() as conn:
            while position < head:
                batch = await read_after(conn, position, min(_EXPORT_BATCH, head - position))
                if not batch:
                    break
                yield b"".join(record_line(e) for e in batch)
                position, last_hash = batch[-1].notification_id, bytes(batch[-1].hash)
                count += len(batch)
        yield trailer_line(count, last_hash)

    return lines(), f"optin-ledger-audit-{after + 1}-{head}.ndjson"
