"""How far behind the ledger the read models and the outbox are: `/ready` asks, metrics publish it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import asyncpg
import structlog

from adapters import metrics
from adapters.postgres.availability import availability_of
from adapters.postgres.migrations import migration_state
from adapters.resilience import being_cancelled
from projections.compliance_metrics import sample_compliance

log = structlog.get_logger(__name__)

# A projection's lag in seconds is the age of the first event it has not applied: 0 when caught
# up, and growing steadily while it is stuck, however few events are waiting.
_LAG = """
SELECT n.name, h.position AS head, h.position - coalesce(t.position, 0) AS events,
       coalesce(extract(epoch FROM clock_timestamp() - e.recorded_at), 0)::float8 AS seconds
  FROM unnest($1::text[]) AS n(name)
 CROSS JOIN ledger_head h
  LEFT JOIN projection_tracking t ON t.name = n.name
  LEFT JOIN events e ON e.notification_id = coalesce(t.position, 0) + 1
"""
_OUTBOX = """
SELECT channel, count(*) AS depth,
       coalesce(extract(epoch FROM clock_timestamp() - min(due_at)
                        FILTER (WHERE due_at <= clock_timestamp())), 0)::float8 AS oldest_due
  FROM outbox GROUP BY channel
"""


@dataclass(frozen=True, slots=True)
class Lag:
    events: int
    seconds: float


async def projection_lag(pool: asyncpg.Pool, names: Sequence[str]) -> tuple[int, dict[str, Lag]]:
    """The ledger head, and how far behind it each projection in `names` is."""
    rows = await pool.fetch(_LAG, list(names))
    head = int(rows[0]["head"]) if rows else int(await pool.fetchval("SELECT position FROM ledger_head"))
    return head, {r["name"]: Lag(int(r["events"]), max(float(r["seconds"]), 0.0)) for r in rows}


@dataclass(frozen=True, slots=True)
class Readiness:
    """What `/ready` answers: `ready` only with the schema current and every read model close."""

    status: Literal["ready", "migrating", "lagging"]
    migrations: Literal["ok", "running", "pending"]
    head: int | None = None
    lag: dict[str, Lag] = field(default_factory=dict)


async def readiness(
    pool: asyncpg.Pool, names: Sequence[str], max_events: int, max_seconds: float
) -> Readiness:
    """Is this database ready to serve? Raises when it cannot be reached (that is "no" too)."""
    migrations = await migration_state(pool)
    if migrations != "ok":
        return Readiness(status="migrating", migrations=migrations)
    head, lags = await projection_lag(pool, names)
    behind = any(lag.events > max_events or lag.seconds > max_seconds for lag in lags.values())
    return Readiness(status="lagging" if behind else "ready", migrations=migrations, head=head, lag=lags)


async def sample(pool: asyncpg.Pool, names: Sequence[str]) -> None:
    """Refresh the gauges that only the database knows: head, projection lag, outbox depth, and
    the compliance figures (messages sent after an opt-out, reviews waiting)."""
    head, lags = await projection_lag(pool, names)
    metrics.LEDGER_HEAD.set(head)
    for name, lag in lags.items():
        metrics.PROJECTION_LAG_EVENTS.labels(name).set(lag.events)
        metrics.PROJECTION_LAG_SECONDS.labels(name).set(lag.seconds)
    oldest = 0.0
    depths = {"email": 0, "sms": 0}
    for row in await pool.fetch(_OUTBOX):
        depths[row["channel"]] = int(row["depth"])
        oldest = max(oldest, float(row["oldest_due"]))
    for channel, depth in depths.items():
        metrics.OUTBOX_DEPTH.labels(channel).set(depth)
    metrics.OUTBOX_OLDEST_DUE.set(oldest)
    await sample_compliance(pool)


async def sample_forever(pool: asyncpg.Pool, names: Sequence[str], every: float = 5.0) -> None:
    """`sample` every few seconds until cancelled; a failed round is logged (an outage by the
    pool's `Availability`, once) and skipped."""
    availability = availability_of(pool)
    while True:
        try:
            await sample(pool, names)
        except Exception as e:
            if being_cancelled():
                raise asyncio.CancelledError from e
            if availability is None or availability.noticed(e) is None:
                log.warning("metrics sample failed", error=str(e))
        await asyncio.sleep(every)
