"""The dashboard: opt-ins and opt-outs per day by program and channel, and verification success,
from the same analytics read model as `GET /v1/admin/analytics`."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from adapters.postgres.replica import ReadDatabase
from api.web.charts import Chart, day_range, stacked_bars
from api.web.console.access import VIEWERS
from api.web.console.feedback import feedback_figures
from api.web.rendering import is_htmx, page
from projections.activity import DayRow, analytics, codes_per_day
from projections.messages import outcomes_per_day
from projections.optout_deadlines import figures as compliance_figures

PERIODS = (7, 30, 90)
MESSAGE_SERIES = {
    "message.sent": "sent",
    "message.delivered": "delivered",
    "message.blocked": "blocked by consent",
    "message.dead_lettered": "failed",
    "message.undelivered": "failed",
}
STALE_AFTER = timedelta(days=7)


def _consent_chart(chart_id: str, title: str, field: str, rows: list[DayRow], days: list[date]) -> Chart:
    counts: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        value = getattr(row, field)
        if value:
            series = f"{row.program} · {row.channel}"
            counts[series][row.day] = counts[series].get(row.day, 0) + value
    return stacked_bars(chart_id, title, days, dict(sorted(counts.items())))


@get("/", guards=[VIEWERS])
async def dashboard(
    request: Request[Any, Any, Any],
    read_db: NamedDependency[ReadDatabase],
    days: Annotated[int, QueryParameter(ge=1, le=366)] = 30,
) -> Response[Any]:
    period = day_range(datetime.now(UTC).date(), days)
    figures = await analytics(read_db, period[0], period[-1], datetime.now(UTC) - STALE_AFTER)
    codes = await codes_per_day(read_db, period[0], period[-1])
    messages: dict[str, dict[date, int]] = {name: {} for name in dict.fromkeys(MESSAGE_SERIES.values())}
    since = datetime.combine(period[0], datetime.min.time(), tzinfo=UTC)
    for day, topic, count in await outcomes_per_day(read_db, since):
        series = messages[MESSAGE_SERIES[topic]]
        series[day] = series.get(day, 0) + count
    charts = [
        _consent_chart("chart-opt-ins", "Opt-ins per day", "granted", figures.days, period),
        _consent_chart("chart-opt-outs", "Opt-outs per day", "withdrawn", figures.days, period),
        stacked_bars(
            "chart-verifications",
            "Codes per day: confirmed, and never confirmed",
            period,
            {
                "confirmed": {c.day: c.confirmed for c in codes},
                "locked (too many wrong tries)": {c.day: c.locked for c in codes},
                "expired": {c.day: c.expired for c in codes},
            },
        ),
        stacked_bars("chart-messages", "Messages per day", period, messages),
    ]
    feedback_chart, feedback_programs = await feedback_figures(read_db, period)
    charts.append(feedback_chart)
    rate = figures.verification["success_rate"]
    compliance = await compliance_figures(read_db, datetime.now(UTC))
    return page(
        request,
        "console/_charts.html" if is_htmx(request) else "console/dashboard.html",
        title="Dashboard",
        charts=charts,
        days=days,
        periods=PERIODS,
        issued=figures.verification["issued"],
        success=f"{rate:.0%}" if rate is not None else "—",
        stale=figures.pending_older_than["count"],
        stale_days=STALE_AFTER.days,
        feedback_programs=feedback_programs,
        compliance=compliance,
    )
