"""Resolve a handler's plain (synchronous) dependencies one after the other, not side by side.

Litestar resolves the dependencies that do not need each other in a task group (one task each),
a cost paid on every request (litestar#4563) that buys nothing for providers that are plain
functions: they never wait, so they run one after the other in their tasks anyway. Here every
such batch is split into batches of one, which Litestar resolves by a plain await; a batch with
a provider that may wait (an async one, as `caught_up` and `read_db` are) keeps its task group.

It rearranges Litestar's own plan (`KwargsModel.dependency_batches`), not a public API: a Litestar
that plans differently is left alone, and resolves as it always did (only slower).
"""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute


def resolve_plain_dependencies_in_turn(app: Litestar) -> None:
    """Split, in every HTTP route of `app`, the dependency batches of plain providers."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for _, kwargs_model in route.route_handler_map.values():
            batches = getattr(kwargs_model, "dependency_batches", None)
            if not isinstance(batches, list) or all(len(batch) == 1 for batch in batches):
                continue
            in_turn = []
            for batch in batches:
                if all(getattr(d.provide, "has_sync_callable", False) is True for d in batch):
                    in_turn += [{d} for d in sorted(batch, key=lambda d: d.key)]
                else:
                    in_turn.append(batch)
            kwargs_model.dependency_batches = in_turn
