"""Issue 15 item 6: forwarded headers name the client only when a trusted proxy sent them.

Over a real socket, with the server configured as `serve` configures it: from a loopback peer
that is not a trusted proxy, `X-Forwarded-For` is ignored (before, uvicorn believed any loopback
peer and a caller picked its own rate-limit bucket); from a trusted proxy, each visitor it
forwards gets a bucket of their own (before, everyone behind the ingress shared one).
"""

from __future__ import annotations

import httpx
import msgspec
import pytest

from adapters.settings import Settings
from api.app import create_app
from tests import pii
from tests.api.served import served

pytestmark = pytest.mark.integration

PER_CLIENT = 20  # ledger.application.guardrails.Limits.per_client


async def ask_for_codes(url: str, forwarded_for: list[str]) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        statuses = []
        for client in forwarded_for:
            answer = await http.post(
                "/v1/public/verifications",
                json={"channel": "email", "address": pii.email()},
                headers={"X-Forwarded-For": client},
            )
            statuses.append(answer.status_code)
        return statuses


async def test_a_caller_cannot_pick_its_own_bucket_with_x_forwarded_for(settings: Settings) -> None:
    assert settings.trusted_proxies == ()  # the default: nobody is trusted to name the client
    async with served(create_app(settings)) as url:
        spoofed = [f"198.51.100.{i}" for i in range(PER_CLIENT + 1)]
        statuses = await ask_for_codes(url, spoofed)
    assert statuses == [202] * PER_CLIENT + [429]  # one peer, one bucket, whatever it claims


async def test_visitors_behind_a_trusted_proxy_each_get_their_own_bucket(settings: Settings) -> None:
    behind_ingress = msgspec.structs.replace(settings, trusted_proxies=("127.0.0.0/8",))
    async with served(create_app(behind_ingress)) as url:
        # What the ingress sends: whatever the visitor claimed, then the address it saw.
        visitors = [f"203.0.113.7, 192.0.2.{i}" for i in range(PER_CLIENT + 1)]
        assert await ask_for_codes(url, visitors) == [202] * (PER_CLIENT + 1)
        # One visitor claiming a new address each time is still one visitor.
        liar = [f"203.0.113.{i}, 192.0.2.200" for i in range(PER_CLIENT + 1)]
        assert await ask_for_codes(url, liar) == [202] * PER_CLIENT + [429]
