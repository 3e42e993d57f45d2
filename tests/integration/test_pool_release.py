"""A connection with nothing to undo goes back to the pool in place; any other the way asyncpg
gives it back (in a task of its own that a cancelled caller cannot stop half-way)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def shields(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every `asyncio.shield` asyncpg's release makes."""
    made: list[object] = []
    shield = asyncio.shield

    def counted(awaitable: Any) -> Any:
        made.append(awaitable)
        return shield(awaitable)

    monkeypatch.setattr(asyncio, "shield", counted)
    return made


async def test_an_idle_connection_goes_back_in_place_and_is_lent_again(
    pool: asyncpg.Pool, shields: list[object]
) -> None:
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT 1") == 1
        raw = conn._con  # type: ignore[attr-defined]
    assert shields == []
    assert await pool.fetchval("SELECT 2") == 2
    async with pool.acquire() as again:
        assert again._con is raw  # type: ignore[attr-defined]
    assert shields == []


async def test_a_connection_left_in_a_transaction_is_rolled_back_the_usual_way(
    pool: asyncpg.Pool, shields: list[object]
) -> None:
    async with pool.acquire() as conn:
        await conn.execute("BEGIN")
        await conn.execute("CREATE TEMP TABLE left_open (x int)")
    assert len(shields) == 1
    async with pool.acquire() as conn:
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT to_regclass('pg_temp.left_open')") is None


async def test_a_caller_cancelled_while_releasing_still_gives_the_connection_back(pool: asyncpg.Pool) -> None:
    async def borrow() -> None:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        await asyncio.sleep(10)

    for _ in range(20):
        task = asyncio.create_task(borrow())
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert pool.get_size() - pool.get_idle_size() == 0
