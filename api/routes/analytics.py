"""Analytics for staff and auditors: consent and verification figures over time, from projections."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from adapters.postgres.replica import ReadDatabase
from api.auth.guards import allow
from api.validation import invalid
from projections.activity import Analytics, analytics


@get(
    "/v1/admin/analytics",
    guards=[allow("staff", "auditor")],
    tags=["admin"],
    summary="Opt-ins, opt-outs and rates per day, program and channel; code success; stale requests",
)
async def get_analytics(
    read_db: NamedDependency[ReadDatabase],
    since: Annotated[date | None, QueryParameter(name="from", description="first day (UTC)")] = None,
    until: Annotated[date | None, QueryParameter(name="to", description="last day (UTC)")] = None,
    pending_days: Annotated[int, QueryParameter(ge=0, le=3650)] = 7,
) -> Analytics:
    today = datetime.now(UTC).date()
    until = until or today
    since = since or until - timedelta(days=29)
    if since > until:
        raise invalid("from", "must not be after `to`")
    if (until - since).days > 3660:
        raise invalid("from", "ask for ten years at most")
    stale = datetime.now(UTC) - timedelta(days=pending_days)
    return await analytics(read_db, since, until, stale)
