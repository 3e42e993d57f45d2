"""What request handlers are given: each controller names the parts of the composition root its
handlers use (`dependencies = {...}` on the class), plus who is calling and from where.

Handlers never get the whole object graph: `component("programs")` provides the `Programs` use
cases and nothing else. All providers here are synchronous and cheap (`sync_to_thread=False`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from api.auth.guards import principal_of
from api.auth.principal import Principal
from api.composition import Components
from ledger.application.evidence import Client
from ledger.vocabulary import Actor
from projections.runner import wait_for_position


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


async def provide_min_position(
    services: NamedDependency[Components],
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
    other: dependencies resolved side by side cost a task group per request on the hot path
    (`GET /v1/consent` takes `services` too).
    """
    if min_position:
        await wait_for_position(services.pool, min_position, list(services.runner.projections))
    return min_position


APP_DEPENDENCIES: dict[str, Provide | Callable[..., Any]] = {
    "services": Provide(provide_components, sync_to_thread=False),
    "caught_up": Provide(provide_min_position),
    "actor": Provide(provide_actor, sync_to_thread=False),
    "relay": Provide(provide_relay, sync_to_thread=False),
    "client": Provide(client_of, sync_to_thread=False),
}
"""Every handler may ask for these by name. `services` (the whole graph) is there only for the
consent read handlers of `api/routes/consent.py`, until they take narrow dependencies too."""
