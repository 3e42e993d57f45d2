"""asyncpg pools whose connections run as the service role, optionally in a given schema."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
import structlog

from adapters.postgres.availability import Availability, quiet_pool_floor_retries
from adapters.postgres.waiting_pool import WaitingPool
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
    availability: Availability | None = None,
    wait: float = 5.0,
) -> asyncpg.Pool:
    """A pool on `dsn`. With `role`, every connection does `SET ROLE role` when it may.

    `acquire` waits at most `wait` seconds, then raises `DatabaseBusyError`; a refused connection
    raises `DatabaseUnreachableError`; both are reported to `availability` (waiting_pool.py).

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
    quiet_pool_floor_retries()
    pool = WaitingPool(
        dsn,
        wait=wait,
        availability=availability,
        min_size=min_size,
        max_size=max_size,
        max_queries=50000,
        max_inactive_connection_lifetime=300.0,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        reset=light_reset,
        statement_cache_size=statement_cache_size,
        server_settings=server_settings,
        timeout=min(wait, 10.0),  # to connect: a server that does not answer is as good as down
    )
    await pool
    return pool


async def settings_pool(
    settings: Settings,
    *,
    min_size: int = 2,
    max_size: int = 20,
    availability: Availability | None = None,
    sizes: tuple[int, int] | None = None,
) -> asyncpg.Pool:
    """The pool of a long-running process: sizes from OPTIN_DB_POOL_MIN/MAX where set (the chart's
    connection budget counts on them), else the given ones (or exactly `sizes`); the statement
    cache and the wait for a free connection as configured."""
    assert settings.database_url
    low, high = sizes or settings.pool_size(min_size, max_size)
    return await create_pool(
        settings.database_url,
        role=settings.db_role,
        min_size=low,
        max_size=high,
        statement_cache_size=settings.db_statement_cache,
        availability=availability,
        wait=settings.db_pool_wait,
    )


# What the background loops of `serve` hold at most: the projection runner and the Merkle tree
# follower a listener and a working connection each, the outbox worker the same; one more is
# shared by the lag sampler and retention.
_RUNNER_CONNECTIONS, _WORKER_CONNECTIONS, _SHARED_CONNECTIONS = 4, 2, 1


async def service_pools(
    settings: Settings, availability: Availability, *, projections: bool, worker: bool
) -> tuple[asyncpg.Pool, asyncpg.Pool | None]:
    """`serve`'s pools: one for requests and, when the projection runner or the outbox worker
    run in-process, one of their own, so that requests holding every connection never stall
    them. Both come out of OPTIN_DB_POOL_MAX (the connection budget): the background pool takes
    what its loops hold at most, requests the rest (at least 2)."""
    low, high = settings.pool_size(2, 20)
    reserve = (_RUNNER_CONNECTIONS if projections else 0) + (_WORKER_CONNECTIONS if worker else 0)
    if not reserve:
        return await settings_pool(settings, sizes=(low, high), availability=availability), None
    reserve += _SHARED_CONNECTIONS
    requests = max(high - reserve, 2)
    pool = await settings_pool(settings, sizes=(min(low, requests), requests), availability=availability)
    try:
        background = await settings_pool(settings, sizes=(1, reserve), availability=availability)
    except BaseException:
        await pool.close()
        raise
    return pool, background


async def light_reset(conn: asyncpg.Connection) -> None:
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
