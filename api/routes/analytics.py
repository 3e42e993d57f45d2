"""Analytics for staff and auditors: consent and verification figures over time, from projections."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import asyncpg
from litestar import get
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter

from api.auth.guards import allow
from api.dependencies import component
from projections.activity import Analytics, analytics


@get(
    "/v1/admin/analytics",
    guards=[allow("staff", "auditor")],
    tags=["admin"],
    summary="Opt-ins, opt-outs and rates per day, program and channel; code success; stale requests",
    dependencies={"pool": component("pool")},
)
async def get_analytics(
    pool: NamedDependency[asyncpg.Pool],
    caught_up: NamedDependency[int | None],
    since: Annotated[date | None, QueryParameter(name="from", description="first day (UTC)")] = None,
    until: Annotated[date | None, QueryParameter(name="to", description="last day (UTC)")] = None,
    pending_days: Annotated[int, QueryParameter(ge=0, le=3650)] = 7,
) -> Analytics:
    today = datetime.now(UTC).date()
    until = until or today
    since = since or until - timedelta(days=29)
    if since > until:
        raise ValidationException("`from` must not be after `to`")
    if (until - since).days > 3660:
        raise ValidationException("ask for ten years at most")
    stale = datetime.now(UTC) - timedelta(days=pending_days)
    return await analytics(pool, since, until, stale)
