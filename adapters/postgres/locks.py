"""Named locks shared by every process of the service: PostgreSQL transaction advisory locks.

The lock is taken in a transaction on a pooled connection (`pg_advisory_xact_lock`) and released
when that transaction ends, at the end of the `async with` block, or with the session if the
process dies: a crashed holder never leaves it locked. The key is `hashtext('lock:' || name)`, in
the int4 range, apart from the projector's leadership key.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg


class PostgresLocks:
    """`ledger.ports.Locks` on advisory locks."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('lock:' || $1))", name)
            yield
