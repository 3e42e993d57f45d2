"""Login throttle counters in PostgreSQL, so every process of the service counts the same attempts."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from adapters.postgres.pool import Connection
from ledger.login_throttle import ThrottlePolicy, ThrottleState, ThrottleVerdict, attempt, forgive

_LOCKED_ROW = "SELECT failures, window_start, next_attempt_at FROM login_throttle WHERE key = $1 FOR UPDATE"


class PostgresThrottle:
    """`ledger.login_throttle` decisions over the `login_throttle` table, one row lock per key."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def attempt(self, key: bytes, policy: ThrottlePolicy, now: datetime) -> ThrottleVerdict:
        async with self._pool.acquire() as conn, conn.transaction():
            # A fresh row first, so that concurrent first attempts queue on its lock and all count.
            await conn.execute(
                "INSERT INTO login_throttle VALUES ($1, 0, $2, $2) ON CONFLICT (key) DO NOTHING", key, now
            )
            row = await conn.fetchrow(_LOCKED_ROW, key)
            assert row is not None  # inserted just above
            decision = attempt(policy, ThrottleState(*row), now)
            if decision.allowed:
                await _store(conn, key, decision.state)
            return decision

    async def prune(self, older_than: timedelta) -> int:
        """Forget counters idle for longer than any window or block: as good as no row."""
        done = await self._pool.execute(
            "DELETE FROM login_throttle WHERE window_start < now() - $1::interval "
            "AND next_attempt_at < now() - $1::interval",
            older_than,
        )
        return int(done.split()[-1])

    async def forgive(self, key: bytes, now: datetime, *, reset: bool) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(_LOCKED_ROW, key)
            if row:
                await _store(conn, key, forgive(ThrottleState(*row), now, reset=reset))


async def _store(conn: Connection, key: bytes, state: ThrottleState) -> None:
    await conn.execute(
        "INSERT INTO login_throttle (key, failures, window_start, next_attempt_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (key) DO UPDATE SET failures = EXCLUDED.failures, "
        "window_start = EXCLUDED.window_start, next_attempt_at = EXCLUDED.next_attempt_at",
        key,
        state.attempts,
        state.window_start,
        state.next_attempt_at,
    )
