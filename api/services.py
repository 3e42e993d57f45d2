"""What request handlers are given: the wired services of one running app (see api/app.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import asyncpg
import structlog
from litestar import Request, Response
from litestar.datastructures import State
from litestar.params import QueryParameter

from adapters.postgres.event_store import PostgresEventStore
from adapters.settings import Settings
from api.messaging import MessagingServices
from ledger.consent_flows import Client, ConsentFlows
from ledger.guardrails import Guardrails
from ledger.registry import ContactRegistry
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
    contacts: ContactRegistry
    flows: ConsentFlows
    guardrails: Guardrails
    background: Background = field(default_factory=lambda: Background())
    messaging: MessagingServices | None = None  # set at start-up (templates, messages, channels)

    @property
    def channels(self) -> MessagingServices:
        assert self.messaging is not None, "the app's lifespan has not started"
        return self.messaging


T = TypeVar("T")
log = structlog.get_logger(__name__)


def provide_services(state: State) -> Services:
    services: Services = state.services
    return services


async def provide_min_position(
    services: Services,
    min_position: Annotated[
        int | None,
        QueryParameter(
            ge=0,
            description="Wait (up to 2 s) until the read models include this ledger position.",
        ),
    ] = None,
) -> int | None:
    """Dependency `caught_up` for reads: wait until projections reach `?min_position=`, else 503.

    It takes `services` rather than the app state so Litestar resolves the two one after the
    other: dependencies resolved side by side cost a task group per request on the hot path.
    """
    if min_position:
        await wait_for_position(services.pool, min_position, list(services.runner.projections))
    return min_position


def one_page(rows: list[T], limit: int) -> tuple[list[T], bool]:
    """Rows fetched with `limit + 1`: the page itself, and whether another follows."""
    return rows[:limit], len(rows) > limit


def written(content: Any, position: int, status_code: int = 201) -> Response[Any]:
    """A write's answer: its body and the ledger position of its last event."""
    return Response(content, status_code=status_code, headers={"Ledger-Position": str(position)})


def request_id(request: Request[Any, Any, Any]) -> str | None:
    """The correlation id the access-log middleware gave this request."""
    state = request.scope.get("state", {})
    value = state.get("request_id") if isinstance(state, dict) else None
    return value if isinstance(value, str) else None


def client_of(request: Request[Any, Any, Any]) -> Client:
    """IP and user agent of the caller: evidence, sealed with the contact's key before storage."""
    return Client(
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or None),
    )


class Background:
    """Work a request hands off so its answer does not depend on it (kept, logged, awaited)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], what: str) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception as e:
                log.error("background work failed", what=what, exc_info=e)

        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """Let handed-off work finish (bounded: a stuck task must not hold up a shutdown)."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            log.error("background work still running at shutdown; cancelled", stack=str(task.get_stack()))
            task.cancel()
