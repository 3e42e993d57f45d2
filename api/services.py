"""What request handlers are given: the wired services of one running app (see api/app.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from litestar import Response
from litestar.datastructures import State
from litestar.params import QueryParameter

from adapters.postgres.event_store import PostgresEventStore
from adapters.settings import Settings
from ledger.repository import Repository
from projections.runner import ProjectionRunner, wait_for_position


@dataclass(slots=True)
class Services:
    """The composition root's products, shared by every request of one app."""

    settings: Settings
    pool: asyncpg.Pool
    store: PostgresEventStore
    repository: Repository
    runner: ProjectionRunner


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


async def provide_min_position(
    state: State,
    min_position: Annotated[
        int | None,
        QueryParameter(
            ge=0,
            description="Wait (up to 2 s) until the read models include this ledger position.",
        ),
    ] = None,
) -> int | None:
    """Dependency `caught_up` for reads: wait until projections reach `?min_position=`, else 503."""
    if min_position:
        services: Services = state.services
        await wait_for_position(services.pool, min_position, list(services.runner.projections))
    return min_position


def written(content: Any, position: int, status_code: int = 201) -> Response[Any]:
    """A write's answer: its body and the ledger position of its last event."""
    return Response(content, status_code=status_code, headers={"Ledger-Position": str(position)})
