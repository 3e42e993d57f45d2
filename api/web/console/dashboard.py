"""The dashboard: opt-ins and opt-outs per day by program and channel, and verification success."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from api.services import Services
from api.web.charts import Chart, day_range, stacked_bars
from api.web.console.access import VIEWERS
from api.web.rendering import is_htmx, page
from projections.dashboard import DailyConsent, consent_changes, verification_outcomes
from projections.optins import list_programs

PERIODS = (7, 30, 90)


def _consent_chart(
    chart_id: str, title: str, topic: str, rows: list[DailyConsent], names: dict[str, str], days: list[date]
) -> Chart:
    counts: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        if row.topic == topic:
            series = f"{names.get(row.optin_id, 'program ' + row.optin_id[:8])} · {row.channel}"
            counts[series][row.day] = counts[series].get(row.day, 0) + row.count
    return stacked_bars(chart_id, title, days, dict(sorted(counts.items())))


@get("/", guards=[VIEWERS])
async def dashboard(
    request: Request[Any, Any, Any],
    services: NamedDependency[Services],
    days: Annotated[int, QueryParameter(ge=1, le=366)] = 30,
) -> Response[Any]:
    today = datetime.now(UTC).date()
    period = day_range(today, days)
    since = datetime.combine(period[0], time.min, tzinfo=UTC)
    names = {str(p.id): p.name for p in await list_programs(services.pool, include_archived=True)}
    changes = await consent_changes(services.pool, since)
    outcomes = await verification_outcomes(services.pool, since)
    verification = stacked_bars(
        "chart-verifications",
        "Codes: confirmed and failed per day",
        period,
        {
            "confirmed": {o.day: o.confirmed for o in outcomes},
            "failed (locked or expired)": {o.day: o.failed for o in outcomes},
            "still open": {o.day: o.issued - o.confirmed - o.failed for o in outcomes},
        },
    )
    issued = sum(o.issued for o in outcomes)
    confirmed = sum(o.confirmed for o in outcomes)
    charts = [
        _consent_chart("chart-opt-ins", "Opt-ins per day", "consent.granted", changes, names, period),
        _consent_chart("chart-opt-outs", "Opt-outs per day", "consent.withdrawn", changes, names, period),
        verification,
    ]
    return page(
        request,
        "console/_charts.html" if is_htmx(request) else "console/dashboard.html",
        title="Dashboard",
        charts=charts,
        days=days,
        periods=PERIODS,
        issued=issued,
        success=(f"{confirmed / issued:.0%}" if issued else "—"),
        since=since,
        until=since + timedelta(days=days),
    )
