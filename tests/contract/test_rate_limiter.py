"""The `RateLimiter` contract on every implementation: `limit` hits per sliding window, per bucket.

Time passes through `pass_time`: the in-memory limiter's clock is moved, PostgreSQL's is waited for
(so its windows here are short)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest

from adapters.memory.clock import ManualClock
from adapters.memory.rate_limits import InMemoryRateLimiter
from adapters.postgres.rate_limits import PostgresRateLimiter
from ledger.ports import RateLimiter

WINDOW = timedelta(seconds=0.6)


def bucket() -> str:
    return f"test:{uuid.uuid4()}"


class RateLimiterContract:
    @pytest.fixture
    async def subject(self) -> RateLimiter:
        raise NotImplementedError

    async def pass_time(self, delta: timedelta) -> None:
        raise NotImplementedError

    async def test_hits_within_the_limit_pass_and_the_next_waits(self, subject: RateLimiter) -> None:
        name = bucket()
        assert [await subject.hit(name, 3, WINDOW) for _ in range(3)] == [None, None, None]
        wait = await subject.hit(name, 3, WINDOW)
        assert wait is not None and wait >= 1

    async def test_buckets_are_counted_apart(self, subject: RateLimiter) -> None:
        full, other = bucket(), bucket()
        await subject.hit(full, 1, WINDOW)
        assert await subject.hit(full, 1, WINDOW) is not None
        assert await subject.hit(other, 1, WINDOW) is None

    async def test_hits_fall_out_of_the_window(self, subject: RateLimiter) -> None:
        name = bucket()
        await subject.hit(name, 2, WINDOW)
        await subject.hit(name, 2, WINDOW)
        assert await subject.hit(name, 2, WINDOW) is not None
        await self.pass_time(WINDOW + timedelta(seconds=0.1))
        assert await subject.hit(name, 2, WINDOW) is None
        assert await subject.hit(name, 2, WINDOW) is None
        assert await subject.hit(name, 2, WINDOW) is not None  # refused hits were never counted

    async def test_racing_hits_never_squeeze_past_the_limit(self, subject: RateLimiter) -> None:
        name = bucket()
        answers = await asyncio.gather(*(subject.hit(name, 5, WINDOW) for _ in range(12)))
        assert answers.count(None) == 5


class TestInMemoryRateLimiter(RateLimiterContract):
    @pytest.fixture
    async def subject(self) -> RateLimiter:
        self.clock = ManualClock()
        return InMemoryRateLimiter(self.clock)

    async def pass_time(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    async def test_the_wait_is_until_the_oldest_hit_leaves_the_window(self) -> None:
        clock = ManualClock()
        limiter = InMemoryRateLimiter(clock)
        hour = timedelta(hours=1)
        await limiter.hit("b", 2, hour)
        clock.advance(timedelta(minutes=20))
        await limiter.hit("b", 2, hour)
        assert await limiter.hit("b", 2, hour) == 40 * 60
        clock.advance(timedelta(minutes=39, seconds=59, microseconds=500_000))
        assert await limiter.hit("b", 2, hour) == 1  # whole seconds, rounded up
        clock.advance(timedelta(seconds=1))
        assert await limiter.hit("b", 2, hour) is None


@pytest.mark.integration
class TestPostgresRateLimiter(RateLimiterContract):
    @pytest.fixture
    async def subject(self, pool: asyncpg.Pool) -> RateLimiter:
        return PostgresRateLimiter(pool)

    async def pass_time(self, delta: timedelta) -> None:
        await asyncio.sleep(delta.total_seconds())
