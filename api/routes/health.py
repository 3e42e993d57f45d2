"""Liveness and readiness: is the process up; can it reach its database; how far behind are reads."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Response, get
from litestar.di import NamedDependency

from adapters.postgres.event_store import PostgresEventStore
from api.auth.guards import anyone
from api.dependencies import component
from projections.runner import ProjectionRunner


class Health(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    status: str
    database: str
    ledger_position: int | None = None
    projection_lag: dict[str, int] = msgspec.field(default_factory=dict)


@get("/health", tags=["operations"], summary="Liveness", sync_to_thread=False, guards=[anyone])
def health() -> Health:
    return Health(status="ok")


@get(
    "/ready",
    tags=["operations"],
    summary="Readiness: database reachable, projection lag",
    guards=[anyone],
    dependencies={"store": component("store"), "runner": component("runner")},
)
async def ready(
    store: NamedDependency[PostgresEventStore], runner: NamedDependency[ProjectionRunner]
) -> Response[Readiness]:
    try:
        async with asyncio.timeout(2):
            head = await store.head()
            positions = await runner.positions()
    except Exception:  # whatever stops us reaching the database means "not ready"
        return Response(Readiness(status="unavailable", database="unreachable"), status_code=503)
    lag = {name: head - position for name, position in positions.items()}
    return Response(Readiness(status="ready", database="ok", ledger_position=head, projection_lag=lag))
