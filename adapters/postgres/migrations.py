"""Apply the SQL files of `migrations/` in order, once each, under an advisory lock."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import asyncpg
import structlog

from adapters.postgres.pool import quote_ident

log = structlog.get_logger(__name__)

# Any fixed number: every process that migrates takes the same lock, so two can start together.
_LOCK_KEY = 0x0971_1ED6


class MigrationError(RuntimeError):
    """A migration failed, or an applied migration file was changed afterwards."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    """The migration files shipped with the package, in name order."""
    folder = resources.files("migrations")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return [Migration(f.name.removesuffix(".sql"), f.read_text()) for f in files]


async def migrate(dsn: str, *, schema: str | None = None) -> list[str]:
    """Apply what is missing; return the versions applied now. Safe to run concurrently.

    A login that may not create tables (the service role itself, as a deployment that separates
    the owner from the app logs in) only checks that nothing is missing, and says so if it is.
    """
    # No statement cache: this connection may go through a transaction-pooling PgBouncer.
    conn = await asyncpg.connect(dsn, statement_cache_size=0)
    try:
        if schema:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
            await conn.execute(f"SET search_path TO {quote_ident(schema)}")
        if not await conn.fetchval("SELECT has_schema_privilege(current_schema(), 'CREATE')"):
            await _check_applied(conn)
            return []
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            return await _apply_missing(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await conn.close()


async def _check_applied(conn: asyncpg.Connection) -> None:
    """Refuse to run on a schema the owner has not migrated to this version."""
    try:
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
    except asyncpg.PostgresError as e:
        raise MigrationError(
            f"{await conn.fetchval('SELECT current_user')} may not migrate and cannot read "
            f"schema_migrations ({e}): run `optin-ledger migrate` as the database owner first"
        ) from e
    done = {r["version"]: r["checksum"] for r in rows}
    missing = [m.version for m in available() if done.get(m.version) != m.checksum]
    if missing:
        raise MigrationError(
            f"the database lacks migrations {', '.join(missing)}: run `optin-ledger migrate` "
            "as the database owner first (this login may not create tables)"
        )


async def _apply_missing(conn: asyncpg.Connection) -> list[str]:
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version text PRIMARY KEY,
               checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    done = {r["version"]: r["checksum"] for r in await conn.fetch("SELECT * FROM schema_migrations")}
    applied: list[str] = []
    for migration in available():
        if migration.version in done:
            if done[migration.version] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version} was changed after it was applied; "
                    "add a new migration instead"
                )
            continue
        try:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                    migration.version,
                    migration.checksum,
                )
        except asyncpg.PostgresError as e:
            raise MigrationError(f"migration {migration.version} failed: {e}") from e
        log.info("migration applied", version=migration.version)
        applied.append(migration.version)
    return applied


@functools.cache
def _shipped_versions() -> tuple[str, ...]:
    return tuple(m.version for m in available())


async def migration_state(conn: asyncpg.Pool | asyncpg.Connection) -> Literal["ok", "running", "pending"]:
    """Whether the database's schema is the one this code ships: `running` while any process
    holds the migration lock, `pending` while a shipped migration is not applied (the schema is
    older than the code), else `ok`. Looks at the lock first: it never waits behind a migration."""
    running = await conn.fetchval(
        "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND classid = 0 AND objid::bigint = $1 AND objsubid = 1)",
        _LOCK_KEY,
    )
    if running:
        return "running"
    versions = list(_shipped_versions())
    applied = await conn.fetchval(
        "SELECT count(*) FROM schema_migrations WHERE version = ANY($1::text[])", versions
    )
    return "ok" if applied == len(versions) else "pending"
