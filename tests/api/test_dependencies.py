"""Handlers are given what they use: no handler takes a Litestar request to call a use case with,
and none takes the whole object graph (`services`)."""

from __future__ import annotations

import inspect

import pytest
from litestar import Litestar

from adapters.settings import Settings
from api.app import create_app
from api.dependencies import component


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
