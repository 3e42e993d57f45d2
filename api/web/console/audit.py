"""Console audit (auditors and admins): browse the ledger, download the verifiable export, and
check it here with the same verifier as `optin-ledger audit verify`."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from api.routes.audit import export_lines
from api.services import Services
from api.web.console.access import AUDITORS
from api.web.console.evidence import log_facts
from api.web.rendering import page
from ledger.audit_export import ExportVerifier

PAGE_SIZE = 100


async def _page(
    request: Request[Any, Any, Any], services: Services, after: int, verdict: Any = None
) -> Response[Any]:
    events = await services.store.read_after(after, PAGE_SIZE)
    return page(
        request,
        "console/audit.html",
        title="Audit",
        events=events,
        after=after,
        next_after=events[-1].notification_id if len(events) == PAGE_SIZE else None,
        head=await services.store.head(),
        verdict=verdict,
        **await log_facts(services),
    )


@get("/audit", guards=[AUDITORS])
async def audit_page(
    request: Request[Any, Any, Any],
    services: NamedDependency[Services],
    after: Annotated[int, QueryParameter(ge=0)] = 0,
) -> Response[Any]:
    return await _page(request, services, after)


@get("/audit/export", guards=[AUDITORS])
async def download(services: NamedDependency[Services]) -> Stream:
    lines, filename = await export_lines(services, 0)
    return Stream(
        lines,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@post("/audit/verify", guards=[AUDITORS])
async def verify(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> Response[Any]:
    """Export the whole ledger as it is now and recompute its chain, line by line as the export
    streams from the database: constant memory, and other requests run between chunks."""
    lines, _ = await export_lines(services, 0)
    verifier = ExportVerifier()
    async for chunk in lines:
        for line in chunk.splitlines():
            verifier.feed(line)
        if verifier.broken:
            break
    return await _page(request, services, 0, verdict=verifier.verdict())
