"""A throwaway schema for one benchmark run, dropped afterwards whatever happens."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator

import asyncpg

from adapters.postgres.pool import quote_ident


@contextlib.asynccontextmanager
async def scratch_schema(dsn: str, label: str) -> AsyncIterator[str]:
    name = f"bench_{label}_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE SCHEMA {quote_ident(name)}")
        yield name
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE")
        await conn.close()
