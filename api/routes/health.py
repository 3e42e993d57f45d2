"""Liveness and readiness: is the process up; is its database reachable, current and caught up."""

from __future__ import annotations

import asyncio

import asyncpg
import msgspec
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec

from adapters.settings import Settings
from api.auth.guards import anyone
from api.dependencies import components
from projections.health import readiness
from projections.runner import ProjectionRunner


class Health(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    status: str
    """`ready`, or why not: `unavailable` (no database), `migrating`, `lagging`."""
    database: str
    migrations: str | None = None
    ledger_position: int | None = None
    projection_lag: dict[str, int] = msgspec.field(default_factory=dict)
    projection_lag_seconds: dict[str, float] = msgspec.field(default_factory=dict)


@get("/health", tags=["operations"], summary="Liveness", sync_to_thread=False, guards=[anyone])
def health() -> Health:
    return Health(status="ok")


@get(
    "/ready",
    tags=["operations"],
    summary="Readiness: database reachable, schema migrated, projections within the lag bound",
    guards=[anyone],
    dependencies=components("settings", "pool", "runner"),
    responses={503: ResponseSpec(Readiness, description="Not ready: `status` says why.")},
)
async def ready(
    settings: NamedDependency[Settings],
    pool: NamedDependency[asyncpg.Pool],
    runner: NamedDependency[ProjectionRunner],
) -> Response[Readiness]:
    try:
        async with asyncio.timeout(2):
            state = await readiness(
                pool, list(runner.projections), settings.ready_max_lag_events, settings.ready_max_lag_seconds
            )
    except Exception:  # whatever stops us reaching the database means "not ready"
        return Response(Readiness(status="unavailable", database="unreachable"), status_code=503)
    body = Readiness(
        status=state.status,
        database="ok",
        migrations=state.migrations,
        ledger_position=state.head,
        projection_lag={name: lag.events for name, lag in state.lag.items()},
        projection_lag_seconds={name: round(lag.seconds, 3) for name, lag in state.lag.items()},
    )
    return Response(body, status_code=200 if state.status == "ready" else 503)
