"""Handlers are given what they use: no handler takes a Litestar request to call a use case with,
and none but the two consent reads takes the whole object graph (`services`)."""

from __future__ import annotations

import inspect

import pytest
from litestar import Litestar

from adapters.settings import Settings
from api.app import create_app
from api.dependencies import component

WHOLE_GRAPH_ALLOWED = {"get_consent", "check"}  # the consent reads, until they are narrowed too


def handlers(app: Litestar) -> dict[str, list[str]]:
    """Every route handler of the app (pages included) and the parameters it takes."""
    found: dict[str, list[str]] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            fn = getattr(handler.fn, "func", handler.fn)
            found[f"{route.path} {handler.handler_name}"] = list(inspect.signature(fn).parameters)
    return found


def test_only_the_consent_reads_get_the_whole_graph(settings: Settings) -> None:
    app = create_app(settings)
    taking = sorted(name for name, params in handlers(app).items() if "services" in params)
    assert {name.split()[-1] for name in taking} == WHOLE_GRAPH_ALLOWED, taking


def test_a_controller_cannot_name_a_component_that_does_not_exist() -> None:
    """A misspelt `component(...)` fails when the module is imported, not on the first request."""
    assert component("accounts").dependency is not None
    with pytest.raises(ValueError, match="no component named 'acounts'"):
        component("acounts")
