"""ASGI middleware: a correlation id per request and one access-log line, path masked.

Successful reads on the hot paths (consent checks, health probes) are not logged one by one:
at thousands per second they would drown the log and cost more than the answer itself. They
are logged when they fail (status >= 400) or are slow (>= `SLOW_MS`).
"""

from __future__ import annotations

import os
import time

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters import metrics
from ledger.masking import scrub

log = structlog.get_logger("api.access")

QUIET_PATHS = frozenset({"/v1/consent", "/health", "/ready"})
SLOW_MS = 250.0


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header `name` (lower-case, as ASGI gives names) from the raw headers:
    cheaper on the hot path than building a headers object for one lookup."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _new_id() -> str:
    """128 random bits in hex, as `uuid4().hex` spells them, without building a UUID object."""
    return os.urandom(16).hex()


def correlation_and_access_log(app: ASGIApp) -> ASGIApp:
    """Bind `request_id` (from `X-Request-ID` or new) to every log line of the request."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        given = header(scope, b"x-request-id") or ""
        request_id = given[:64] if given.isascii() and given.isprintable() and given else _new_id()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            ms = (time.perf_counter() - started) * 1000
            method = scope.get("method", "")
            metrics.request_finished(method, scope["path"], ms / 1000)
            if status >= 400 or ms >= SLOW_MS or method != "GET" or scope["path"] not in QUIET_PATHS:
                log.info("request", method=method, path=scrub(scope["path"]), status=status, ms=round(ms, 2))
            structlog.contextvars.unbind_contextvars("request_id")

    return middleware
