"""Sliding-window rate limits in PostgreSQL, shared by every replica of the service.

Buckets name what is limited (for example `verify:ip:<hmac>`); they never hold an address or
an IP address in clear. Old hits are pruned as they fall out of every window.
"""

from __future__ import annotations

import math
from datetime import timedelta

import asyncpg


class PostgresRateLimiter:
    """`ledger.ports.RateLimiter` on the `rate_limit_hits` table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def hit(self, bucket: str, limit: int, window: timedelta) -> int | None:
        # One round trip: the function (migration 105) takes the bucket's lock, counts and
        # records, so two racing requests cannot both squeeze in.
        wait: float | None = await self._pool.fetchval(
            "SELECT rate_limit_hit($1, $2, $3::interval)", bucket, limit, window
        )
        return None if wait is None else max(1, math.ceil(wait))

    async def prune(self, older_than: timedelta) -> int:
        status: str = await self._pool.execute(
            "DELETE FROM rate_limit_hits WHERE hit_at < now() - $1::interval", older_than
        )
        return int(status.split()[-1])
