"""Console audit (auditors and admins): browse the ledger, download the verifiable export, and
check it here with the same verifier as `optin-ledger audit verify`."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from adapters.postgres.audit_export import PostgresAuditExport
from adapters.postgres.event_store import PostgresEventStore
from adapters.settings import Settings
from api.dependencies import components
from api.web.console.access import AUDITORS
from api.web.console.evidence import log_facts
from api.web.rendering import page
from ledger.audit_export import ExportVerifier

PAGE_SIZE = 100


async def _page(
    request: Request[Any, Any, Any],
    store: PostgresEventStore,
    facts: dict[str, Any],
    after: int,
    verdict: Any = None,
) -> Response[Any]:
    events = await store.read_after(after, PAGE_SIZE)
    return page(
        request,
        "console/audit.html",
        title="Audit",
        events=events,
        after=after,
        next_after=events[-1].notification_id if len(events) == PAGE_SIZE else None,
        head=await store.head(),
        verdict=verdict,
        **facts,
    )


@get("/audit", guards=[AUDITORS], dependencies=components("store", "settings", "pool"))
async def audit_page(
    request: Request[Any, Any, Any],
    store: NamedDependency[PostgresEventStore],
    settings: NamedDependency[Settings],
    pool: NamedDependency[asyncpg.Pool],
    after: Annotated[int, QueryParameter(ge=0)] = 0,
) -> Response[Any]:
    return await _page(request, store, await log_facts(settings, pool), after)


@get("/audit/export", guards=[AUDITORS], dependencies=components("audit"))
async def download(audit: NamedDependency[PostgresAuditExport]) -> Stream:
    lines, filename = await audit.lines(0)
    return Stream(
        lines,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@post("/audit/verify", guards=[AUDITORS], dependencies=components("store", "audit", "settings", "pool"))
async def verify(
    request: Request[Any, Any, Any],
    store: NamedDependency[PostgresEventStore],
    audit: NamedDependency[PostgresAuditExport],
    settings: NamedDependency[Settings],
    pool: NamedDependency[asyncpg.Pool],
) -> Response[Any]:
    """Export the whole ledger as it is now and recompute its chain, line by line as the export
    streams from the database: constant memory, and other requests run between chunks."""
    lines, _ = await audit.lines(0)
    verifier = ExportVerifier()
    async for chunk in lines:
        for line in chunk.splitlines():
            verifier.feed(line)
        if verifier.broken:
            break
    return await _page(request, store, await log_facts(settings, pool), 0, verdict=verifier.verdict())
