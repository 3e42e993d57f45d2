"""Issue 15 item 11: a refused public code answers the same whatever the reason.

Before, a wrong code for an address with an open code said how many tries were left and where in
the ledger the failure was recorded (`Ledger-Position`), while an unknown address said neither; a
locked code said so; and two attempts at once could answer 409 naming the verification's stream.
Each of these told anyone whether an address had a code waiting.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest

from adapters.settings import Settings
from tests import pii
from tests.api.channels import Client
from tests.api.test_public_api import session_for

pytestmark = pytest.mark.integration
CONFIRM = "/v1/public/verifications/confirm"
_VOLATILE = {"x-request-id", "date"}


def seen(response: httpx.Response) -> tuple[int, dict[str, str], Any]:
    """Everything a caller can tell apart: status, headers (less per-request ones) and body."""
    headers = {k: v for k, v in response.headers.items() if k not in _VOLATILE}
    return response.status_code, headers, response.json()


async def wrong(client: Client, address: str, code: str = "000000") -> httpx.Response:
    return await client.post(CONFIRM, json={"channel": "email", "address": address, "code": code})


async def with_open_code(client: Client, pool: asyncpg.Pool) -> str:
    """An address that has a contact and a code waiting (asked for, not used)."""
    address = pii.email()
    assert (
        await client.post("/v1/public/verifications", json={"channel": "email", "address": address})
    ).status_code == 202
    for _ in range(200):  # made in the background
        if await pool.fetchval("SELECT count(*) FROM verifications WHERE status = 'open'"):
            return address
        await asyncio.sleep(0.02)
    raise AssertionError("no code was made")


async def test_a_wrong_code_answers_the_same_whether_or_not_a_code_is_waiting(
    client: Client, pool: asyncpg.Pool
) -> None:
    waiting = await with_open_code(client, pool)
    unknown = seen(await wrong(client, pii.email()))
    assert seen(await wrong(client, waiting)) == unknown
    assert unknown[0] == 422
    assert "attempts_left" not in unknown[2]
    assert "ledger-position" not in unknown[1]
    for _ in range(6):  # wrong until locked, and after: still the same answer
        assert seen(await wrong(client, waiting)) == unknown
    assert unknown[2]["outcome"] == "refused"


async def test_attempts_at_the_same_moment_never_name_a_stream(client: Client, pool: asyncpg.Pool) -> None:
    waiting = await with_open_code(client, pool)
    unknown = seen(await wrong(client, pii.email()))
    answers = await asyncio.gather(*(wrong(client, waiting, f"00000{i}") for i in range(6)))
    assert [seen(a) for a in answers] == [unknown] * 6


async def test_a_used_code_is_refused_like_any_other(
    client: Client, pool: asyncpg.Pool, settings: Settings
) -> None:
    address = pii.email()
    await session_for(client, pool, settings, address)
    unknown = seen(await wrong(client, pii.email()))
    assert seen(await wrong(client, address)) == unknown  # its code was used: no open code now
