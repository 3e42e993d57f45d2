"""What request handlers are given: each controller names the parts of the composition root its
handlers use (`dependencies = {...}` on the class), plus who is calling and from where.

Handlers never get the whole object graph: `component("programs")` provides the `Programs` use
cases and nothing else. Providers here are cheap; the two that wait are `caught_up` and `read_db`,
which decide, per request, which database a read is answered from (`?min_position=`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from adapters import metrics
from adapters.postgres.replica import ReadDatabase
from api.auth.guards import principal_of
from api.auth.principal import Principal
from api.composition import Components
from api.validation import bad_request
from ledger.application.evidence import Client
from ledger.vocabulary import Actor
from projections.runner import wait_for_position

MAX_INTEGER = 2**53 - 1
"""The largest integer a query parameter takes (positions, cursors): every JSON reader holds it
exactly (JavaScript's `Number.MAX_SAFE_INTEGER`), and the ledger's bigint positions never get
there; larger ones are refused (422) before they reach a query."""


def component(name: str) -> Provide:
    """A provider of one part of the running app's `Components` (by attribute name)."""
    if name not in Components.__slots__:
        raise ValueError(f"no component named {name!r}")

    def provide(state: State) -> Any:
        return getattr(state.components, name)

    return Provide(provide, sync_to_thread=False)


def components(*names: str) -> dict[str, Provide]:
    """`dependencies` for a controller whose handlers use these components."""
    return {name: component(name) for name in names}


def provide_components(state: State) -> Components:
    found: Components = state.components
    return found


def request_id(request: Request[Any, Any, Any]) -> str | None:
    """The correlation id the access-log middleware gave this request."""
    state = request.scope.get("state", {})
    value = state.get("request_id") if isinstance(state, dict) else None
    return value if isinstance(value, str) else None


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    """The authenticated caller as the ledger names it in events, with the request's id."""
    return principal_of(request).actor(request_id(request))


def provide_relay(request: Request[Any, Any, Any]) -> Actor | None:
    """On a route open to anyone: the staff member or application passing a contact's input on
    (None for the contact themselves)."""
    user = request.scope.get("user")
    if isinstance(user, Principal) and user.kind in ("user", "api_key"):
        return user.actor(request_id(request))
    return None


def client_of(request: Request[Any, Any, Any]) -> Client:
    """IP and user agent of the caller: evidence, sealed with the contact's key before storage."""
    return Client(
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or None),
    )


MIN_POSITION_WAIT = 2.0
"""Seconds a read with `?min_position=` waits for the read models before it answers 503."""

MinPosition = Annotated[
    int | None,
    QueryParameter(
        ge=0,
        le=MAX_INTEGER,
        description="Wait (up to 2 s) until the read models include this ledger position "
        "(a write's `Ledger-Position`); beyond the ledger's end: 400 at once.",
    ),
]

READS_ONLY: dict[str, Any] = {"reads_only": True}
"""`opt` of a POST handler that only reads (the bulk consent check): the replica may answer it."""


async def provide_min_position(
    services: NamedDependency[Components], min_position: MinPosition = None
) -> int | None:
    """Dependency `caught_up` for handlers that read the primary: wait until its read models reach
    `?min_position=`, else 503; a position the ledger has not reached yet is a client's mistake,
    refused at once (400).

    It takes `services` rather than the app state so Litestar resolves the two one after the
    other: dependencies resolved side by side cost a task group per request on the hot path.
    """
    if min_position:
        await _within_ledger(services, min_position)
        await wait_for_position(services.pool, min_position, list(services.runner.projections))
    return min_position


async def _within_ledger(services: Components, min_position: int) -> None:
    """A position the ledger has not reached is refused at once (it would only time out)."""
    head = await services.store.head()
    if min_position > head:
        raise bad_request("min_position", "beyond the end of the ledger", ledger_position=head)


async def provide_read_db(
    request: Request[Any, Any, Any], services: NamedDependency[Components], min_position: MinPosition = None
) -> AsyncIterator[ReadDatabase]:
    """Dependency `read_db`: the database this request's read-model queries go to.

    - No replica (`DATABASE_READ_URL` unset), or a request that writes (its reads must see its own
      write): the primary, as `caught_up` would wait for it.
    - A read without `min_position`: the replica's pool, which hands each query to the primary
      while the replica is down or lagging (`adapters/postgres/replica.py`).
    - A read with `min_position`: one replica connection that has replayed that position, waited
      for up to OPTIN_READ_REPLICA_WAIT_SECONDS; else the primary, for the rest of the 2 s.
    """
    replica, names = services.replica, list(services.runner.projections)
    if min_position:
        await _within_ledger(services, min_position)
    writes = request.method not in ("GET", "HEAD") and not request.route_handler.opt.get("reads_only")
    if replica is None or writes or not min_position:
        if min_position:
            await wait_for_position(services.pool, min_position, names)
        on_replica = replica is not None and not writes and replica.serving
        metrics.READ_REQUESTS.labels("replica" if on_replica else "primary").inc()
        yield replica if replica is not None and not writes else services.pool
        return
    assert services.settings.read_replica is not None
    wait = min(services.settings.read_replica.wait_seconds, MIN_POSITION_WAIT)
    started = asyncio.get_running_loop().time()
    async with replica.connection_at(min_position, wait) as connection:
        if connection is not None:
            metrics.READ_REQUESTS.labels("replica").inc()
            yield connection
            return
    waited = asyncio.get_running_loop().time() - started
    await wait_for_position(services.pool, min_position, names, max(MIN_POSITION_WAIT - waited, 0.0))
    metrics.READ_REQUESTS.labels("primary").inc()
    yield services.pool


APP_DEPENDENCIES: dict[str, Provide | Callable[..., Any]] = {
    "services": Provide(provide_components, sync_to_thread=False),
    "caught_up": Provide(provide_min_position),
    "read_db": Provide(provide_read_db),
    "actor": Provide(provide_actor, sync_to_thread=False),
    "relay": Provide(provide_relay, sync_to_thread=False),
    "client": Provide(client_of, sync_to_thread=False),
}
"""Every handler may ask for these by name. `services` (the whole graph) is there only for the
consent read handlers of `api/routes/consent.py`, until they take narrow dependencies too."""
