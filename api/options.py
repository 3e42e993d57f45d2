"""`OPTIONS` answers name every method of the path in `Allow` (RFC 9110 §9.3.7).

Litestar makes the automatic OPTIONS answer per group of handlers, so for a controller that
serves GET and POST on one path as two handlers, `Allow` named only one of them.
"""

from __future__ import annotations

import re

from litestar.routes import HTTPRoute
from litestar.types import Message, Scope

_PARAM_TYPE = re.compile(r":[^}]*}")  # `{id:uuid}` and `{id}` name the same path


async def allow_every_method(message: Message, scope: Scope) -> None:
    """App-wide `before_send` hook (async: Litestar runs a plain one in a thread)."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    template = _PARAM_TYPE.sub("}", str(scope.get("path_template")))
    methods = {"OPTIONS"}
    for route in scope["app"].routes:
        if isinstance(route, HTTPRoute) and _PARAM_TYPE.sub("}", route.path) == template:
            methods |= set(route.methods)
    if len(methods) == 1:
        return
    allow = ", ".join(sorted(methods - {"HEAD"})).encode()
    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
    message["headers"] = [*headers, (b"allow", allow)]
