"""Request bodies: each public endpoint refuses more than it needs before reading it, bad nesting is
a 400, and all requests together hold at most the process's budget (then 503 + Retry-After)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp, Receive, Scope

from api.request_bodies import BODY_TO_DISK, DECODED, BodyBudget, body_budget
from ledger.errors import TryLaterError
from tests.api.conftest import AuthHeaders

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("path", "size"),
    [
        ("/v1/public/verifications", 4097),
        ("/v1/public/verifications/confirm", 4097),
        ("/v1/auth/token", 4097),
    ],
)
async def test_public_endpoints_refuse_bodies_larger_than_they_take(
    client: AsyncTestClient[Litestar], path: str, size: int
) -> None:
    answer = await client.post(path, content=b"x" * size, headers={"content-type": "application/json"})
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_json_nested_deeper_than_the_decoder_goes_is_a_4xx_never_a_500(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders
) -> None:
    json = {"content-type": "application/json"}
    deep = b"[" * 2048 + b"]" * 2048  # as deep as 4 KiB goes
    answer = await client.post("/v1/public/verifications", content=deep, headers=json)
    assert answer.status_code in (400, 422), answer.text
    deeper = b"[" * 200_000 + b"]" * 200_000  # deeper than any decoder goes
    staff = await auth_headers("staff")
    answer = await client.post("/v1/contacts", content=deeper, headers={**json, **staff})
    assert answer.status_code in (400, 422), answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


class Holder:
    """A bare ASGI app that reads its body, then holds it until `release` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def call(app: ASGIApp, body: bytes, opt: dict[str, Any] | None = None) -> int:
    """One POST with `body` through `app` (to a route with `opt`); the status it answered."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[Any] = []

    async def receive() -> Any:
        return pending.pop() if pending else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/take", "headers": []}
    if opt is not None:
        scope["route_handler"] = SimpleNamespace(opt=opt)
    await app(scope, receive, send)  # type: ignore[arg-type]
    return int(sent[0]["status"])


async def test_requests_together_hold_at_most_the_budget_then_are_told_to_try_later() -> None:
    budget, inner = BodyBudget(limit=3 * 1000 * DECODED, wait=0.3), Holder()
    app = body_budget(budget)(inner)
    held = [asyncio.create_task(call(app, b"x" * 1000)) for _ in range(3)]
    await asyncio.sleep(0.05)
    assert budget.held == 3 * 1000 * DECODED
    with pytest.raises(TryLaterError):  # problems.py answers it 503 with Retry-After
        await call(app, b"x" * 1000)
    inner.release.set()
    answers = await asyncio.gather(*held)
    assert answers == [200, 200, 200]
    assert budget.held == 0
    assert await call(app, b"x" * 1000) == 200


async def test_a_request_waits_for_room_while_another_finishes() -> None:
    budget = BodyBudget(limit=1000 * DECODED, wait=5)
    assert await budget.take(1000 * DECODED)
    waiting = asyncio.create_task(budget.take(500 * DECODED))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await budget.give(1000 * DECODED)
    assert await waiting
    assert budget.held == 500 * DECODED


async def test_a_route_that_streams_its_body_to_disk_is_not_held_against_the_budget() -> None:
    budget, inner = BodyBudget(limit=1000 * DECODED, wait=0.1), Holder()
    inner.release.set()
    app = body_budget(budget)(inner)
    assert await call(app, b"x" * 5000, {BODY_TO_DISK: True}) == 200  # an import: its own limit
    with pytest.raises(TryLaterError):
        await call(app, b"x" * 5000, {})
    assert budget.held == 0
