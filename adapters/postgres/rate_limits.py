"""Sliding-window rate limits in PostgreSQL, shared by every replica of the service.

Buckets name what is limited (for example `verify:ip:<hmac>`); they never hold an address or
an IP address in clear. Old hits are pruned as they fall out of every window.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import asyncpg


class PostgresRateLimiter:
    """`ledger.ports.RateLimiter` on the `rate_limit_hits` table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def hit(self, bucket: str, limit: int, window: timedelta) -> int | None:
        async with self._pool.acquire() as conn, conn.transaction():
            # One writer per bucket at a time, so two racing requests cannot both squeeze in.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", bucket)
            row = await conn.fetchrow(
                "SELECT count(*) AS n, min(hit_at) AS oldest FROM rate_limit_hits "
                "WHERE bucket = $1 AND hit_at > now() - $2::interval",
                bucket,
                window,
            )
            assert row is not None
            if row["n"] >= limit:
                now: datetime = await conn.fetchval("SELECT now()")
                wait: timedelta = (row["oldest"] + window) - now
                return max(1, math.ceil(wait.total_seconds()))
            await conn.execute("INSERT INTO rate_limit_hits (bucket) VALUES ($1)", bucket)
            return None

    async def prune(self, older_than: timedelta) -> int:
        status: str = await self._pool.execute(
            "DELETE FROM rate_limit_hits WHERE hit_at < now() - $1::interval", older_than
        )
        return int(status.split()[-1])
