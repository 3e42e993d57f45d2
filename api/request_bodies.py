"""How much request body each endpoint takes, and how much all requests may hold at once.

Each endpoint takes what it needs and no more (Litestar's `request_max_body_size`, checked
against `Content-Length` before a byte is read, and against the bytes as they stream in): the
public and contact endpoints take an address and a code, a few hundred bytes, so an anonymous
client cannot make the process decode a megabyte of `[{},{},…]` (each `{}` becomes a dict:
twenty times the memory). Everything else keeps the app's default (1 MiB) or its own.

On top, `body_budget` bounds what all requests in flight hold together: each chunk read counts
`DECODED` times its size (roughly what decoding makes of it) against `BUDGET` bytes; a request
that finds no room waits up to `WAIT` seconds, then gets 503 with Retry-After. A route that
streams its body to disk (`BODY_TO_DISK`) is not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from ledger.errors import TryLaterError

KIB = 1024
PUBLIC_BODY = 4 * KIB
"""`/v1/public/*`, `/u/{token}` (RFC 8058's one-click body), the login form."""
PAGE_FORM_BODY = 16 * KIB
"""The contact pages' forms (an address, a code, a few program choices)."""
PROVIDER_CALLBACK_BODY = 64 * KIB
"""Twilio's signed form posts (an inbound SMS is at most 1,600 characters)."""

BODY_TO_DISK = "body_to_disk"
"""A route's `opt` flag: it streams its body to a file as it arrives (an import), holding only a
chunk at a time, so its body is bounded by its own limit, not counted against the budget."""

BUDGET = 128 * 1024 * KIB
DECODED = 4
WAIT = 2.0


class BodyBudget:
    """Bytes of request bodies held at once (counted as `DECODED` times their size)."""

    def __init__(self, limit: int = BUDGET, wait: float = WAIT) -> None:
        self.limit = limit
        self.wait = wait
        self.held = 0
        self._room = asyncio.Condition()

    async def take(self, size: int) -> bool:
        """Hold `size` more bytes; False when there was no room within `self.wait` seconds."""
        if self.held + size <= self.limit:
            self.held += size
            return True
        try:
            async with self._room, asyncio.timeout(self.wait):
                await self._room.wait_for(lambda: self.held + size <= self.limit)
        except TimeoutError:
            return False
        self.held += size
        return True

    async def give(self, size: int) -> None:
        if size:
            self.held -= size
            async with self._room:
                self._room.notify_all()


def body_budget(budget: BodyBudget) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware (a factory for Litestar's `middleware=[…]`) holding each request's body
    bytes against `budget` until the request is answered."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def within_budget(scope: Scope, receive: Receive, send: Send) -> None:
            handler = scope.get("route_handler")
            to_disk = handler is not None and handler.opt.get(BODY_TO_DISK, False)
            if scope["type"] != ScopeType.HTTP or to_disk:
                await app(scope, receive, send)
                return
            held = 0

            async def counted() -> ReceiveMessage:
                nonlocal held
                message = await receive()
                size = len(message.get("body", b"")) * DECODED if message["type"] == "http.request" else 0
                if size and not await budget.take(size):
                    raise TryLaterError("the service is receiving too much at once; try again shortly")
                held += size
                return message

            try:
                await app(scope, counted, send)
            finally:
                with contextlib.suppress(Exception):
                    await budget.give(held)

        return within_budget

    return middleware
