"""Contact sessions ended by signing out (migration 076), so a copied session token is refused too."""

from __future__ import annotations

from datetime import timedelta

import asyncpg


class PostgresContactLogouts:
    """The `contact_logouts` table: ids of sessions that signed out, kept while a token could live."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def end(self, session_id: str, *, forget_after: timedelta) -> None:
        """Record a signed-out session; forget those no token can outlive any more."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO contact_logouts (session_id) VALUES ($1) ON CONFLICT DO NOTHING", session_id
            )
            await conn.execute(
                "DELETE FROM contact_logouts WHERE ended_at < now() - $1::interval", forget_after
            )

    async def ended(self, session_id: str) -> bool:
        return bool(
            await self._pool.fetchval(
                "SELECT EXISTS (SELECT FROM contact_logouts WHERE session_id = $1)", session_id
            )
        )
