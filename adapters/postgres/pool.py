"""asyncpg pools whose connections run as the service role, optionally in a given schema."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
import structlog

from adapters.settings import Settings

log = structlog.get_logger(__name__)

Connection: TypeAlias = (
    "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
)
"""A connection of our own or one borrowed from a pool: both run queries the same way."""


async def _can_become(conn: asyncpg.Connection, role: str) -> bool:
    exists = await conn.fetchval("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", role)
    return bool(exists) and bool(await conn.fetchval("SELECT pg_has_role(current_user, $1, 'MEMBER')", role))


async def create_pool(
    dsn: str,
    *,
    role: str | None = None,
    schema: str | None = None,
    min_size: int = 2,
    max_size: int = 20,
    statement_cache_size: int = 100,
) -> asyncpg.Pool:
    """A pool on `dsn`. With `role`, every connection does `SET ROLE role` when it may.

    `statement_cache_size=0` behind a transaction-pooling PgBouncer: a named prepared statement
    lives on one server connection, and the next transaction may get another.

    The service role (`optin_app`, created by the first migration) can read and append events but
    never update or delete them, so the running service holds no right to rewrite the ledger.
    """
    become: str | None = None
    if role:
        probe = await asyncpg.connect(dsn)
        try:
            if await _can_become(probe, role):
                become = role
            else:
                log.warning("service role not available; running as the connecting user", role=role)
        finally:
            await probe.close()

    # Startup parameters, not SET: they are the session's defaults, so the pool's `RESET ALL`
    # between uses keeps them (a plain SET ROLE would be undone on the first release).
    server_settings: dict[str, Any] = {"application_name": "optin-ledger"}
    if schema:
        server_settings["search_path"] = quote_ident(schema)
    if become:
        server_settings["role"] = become
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        statement_cache_size=statement_cache_size,
        server_settings=server_settings,
        reset=_light_reset,
    )
    assert pool is not None
    return pool


async def settings_pool(settings: Settings, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    """The pool of a long-running process: sizes from OPTIN_DB_POOL_MIN/MAX where set (the chart's
    connection budget counts on them), else the given ones; the statement cache as configured."""
    assert settings.database_url
    low, high = settings.pool_size(min_size, max_size)
    return await create_pool(
        settings.database_url,
        role=settings.db_role,
        min_size=low,
        max_size=high,
        statement_cache_size=settings.db_statement_cache,
    )


async def _light_reset(conn: asyncpg.Connection) -> None:
    """What a released connection needs here, without asyncpg's default reset round trip.

    The default (`RESET ALL; UNLISTEN *; CLOSE ALL; advisory unlock all`) costs one more round
    trip per query borrowed from the pool. This code sets session state only through startup
    parameters (kept by the default anyway), takes advisory locks only at transaction level or on
    connections of its own, and removes its listeners; so all that can be left over is an open
    transaction, which is rolled back.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier, double-quoted."""
    return '"' + name.replace('"', '""') + '"'
