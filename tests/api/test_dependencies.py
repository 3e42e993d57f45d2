"""Handlers are given what they use: no handler takes a Litestar request to call a use case with,
and none takes the whole object graph (`services`)."""

from __future__ import annotations

import inspect

import pytest
from litestar import Litestar, get
from litestar.di import NamedDependency, Provide
from litestar.testing import TestClient

from adapters.settings import Settings
from api.app import create_app
from api.dependencies import component
from api.dependency_order import resolve_plain_dependencies_in_turn


def handlers(app: Litestar) -> dict[str, list[str]]:
    """Every route handler of the app (pages included) and the parameters it takes."""
    found: dict[str, list[str]] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            fn = getattr(handler.fn, "func", handler.fn)
            found[f"{route.path} {handler.handler_name}"] = list(inspect.signature(fn).parameters)
    return found


def test_no_handler_gets_the_whole_graph(settings: Settings) -> None:
    app = create_app(settings)
    taking = sorted(name for name, params in handlers(app).items() if "services" in params)
    assert taking == []


def test_a_controller_cannot_name_a_component_that_does_not_exist() -> None:
    """A misspelt `component(...)` fails when the module is imported, not on the first request."""
    assert component("accounts").dependency is not None
    with pytest.raises(ValueError, match="no component named 'acounts'"):
        component("acounts")


PRIMARY_POOL_READS = {"/ready ready", "/console/audit audit_page", "/v1/exports/consent export_consent"}
"""GET handlers that take the primary's pool on purpose: its health, the ledger's checkpoints, and
the consent export (recorded on the ledger first, then streamed from one snapshot after the
handler returns, which needs a pool connection of its own, not the request's `read_db`).
(Accounts, the audit trail and evidence are read on the primary too, through their components.)"""


def test_reads_go_through_read_db_alone(settings: Settings) -> None:
    """`read_db` decides replica or primary (and waits for `min_position`): a handler that takes
    it takes neither the primary's pool nor `caught_up` (which would wait on the primary again),
    and no other page or API read takes the primary's pool."""
    app = create_app(settings)
    found = handlers(app)
    for name, params in found.items():
        if "read_db" in params:
            assert "pool" not in params and "caught_up" not in params, name
    gets = {
        f"{route.path} {handler.handler_name}"
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if handler.http_methods == {"GET"}
    }
    assert {name for name in gets if "pool" in found[name]} == PRIMARY_POOL_READS


def test_plain_providers_are_resolved_in_turn_and_async_ones_side_by_side() -> None:
    """`resolve_plain_dependencies_in_turn`: no task group per request for providers that never
    wait; providers that may wait still start together, and every handler gets all it asked for."""

    async def slow_a() -> str:
        return "a"

    async def slow_b() -> str:
        return "b"

    @get(
        "/plain",
        dependencies={
            "x": Provide(lambda: 1, sync_to_thread=False),
            "y": Provide(lambda: 2, sync_to_thread=False),
        },
    )
    async def plain(x: NamedDependency[int], y: NamedDependency[int]) -> dict[str, int]:
        return {"x": x, "y": y}

    @get("/waits", dependencies={"a": Provide(slow_a), "b": Provide(slow_b)})
    async def waits(a: NamedDependency[str], b: NamedDependency[str]) -> str:
        return a + b

    app = Litestar([plain, waits], openapi_config=None)
    resolve_plain_dependencies_in_turn(app)
    batches = {
        route.path: [sorted(d.key for d in batch) for batch in model.dependency_batches]
        for route in app.routes
        for handler, model in getattr(route, "route_handler_map", {}).values()
        if route.path in ("/plain", "/waits") and "GET" in handler.http_methods
    }
    assert batches == {"/plain": [["x"], ["y"]], "/waits": [["a", "b"]]}
    with TestClient(app) as client:
        assert client.get("/plain").json() == {"x": 1, "y": 2}
        assert client.get("/waits").text == "ab"


def test_the_write_paths_take_no_task_group(settings: Settings) -> None:
    app = create_app(settings)
    for route in app.routes:
        for _, model in getattr(route, "route_handler_map", {}).values():
            for batch in model.dependency_batches:
                assert len(batch) == 1 or not all(d.provide.has_sync_callable for d in batch), route.path
