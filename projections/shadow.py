"""Shadow tables: a rebuild fills temporary copies of a read model's tables, then swaps the rows in.

A temporary table named like a real one hides it on the connection that made it (PostgreSQL looks
in the session's temporary schema first), so a projection's own SQL, unqualified, fills the copy
unchanged while every other connection still reads and updates the real table. Nothing a reader
takes is locked meanwhile. The swap replaces the real rows with the copy's in the caller's
transaction (DELETE, then INSERT … SELECT): until it commits, readers see the old rows, never an
empty or a half-filled table; a TRUNCATE would have made them wait instead.

PostgreSQL does not re-plan a prepared statement when a new table hides the one it named, so the
connection's statement cache is dropped before the copies are made.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

import asyncpg

from adapters.postgres.pool import Connection, quote_ident

# The real table's columns (its schema named explicitly: the copy hides it otherwise).
_COLUMNS = """
SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
 WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
"""


@contextlib.asynccontextmanager
async def shadowed(conn: Connection, tables: Sequence[str]) -> AsyncIterator[str]:
    """Hide `tables` on `conn` behind empty temporary copies (same columns, defaults, constraints
    and indexes) for the duration; yields the real tables' schema. The copies are dropped after."""
    schema = str(await conn.fetchval("SELECT current_schema()"))
    await conn.reload_schema_state()  # no statement prepared against the real tables is reused
    try:
        for table in tables:
            real = f"{quote_ident(schema)}.{quote_ident(table)}"
            await conn.execute(f"DROP TABLE IF EXISTS pg_temp.{quote_ident(table)}")  # an old copy
            await conn.execute(f"CREATE TEMPORARY TABLE {quote_ident(table)} (LIKE {real} INCLUDING ALL)")
        yield schema
    finally:
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            for table in tables:
                await conn.execute(f"DROP TABLE IF EXISTS pg_temp.{quote_ident(table)}")
            await conn.reload_schema_state()  # nor one prepared against the copies


async def swap_in(conn: Connection, schema: str, tables: Sequence[str]) -> None:
    """Replace the rows of each real table with its copy's (in the caller's transaction)."""
    for table in tables:
        real = f"{quote_ident(schema)}.{quote_ident(table)}"
        columns = await conn.fetchval(_COLUMNS, real)
        # Identifiers quoted, column names from the catalogue: nothing from outside goes in.
        await conn.execute(f"DELETE FROM {real}")  # noqa: S608
        copy = f"INSERT INTO {real} ({columns}) SELECT {columns} FROM pg_temp.{quote_ident(table)}"  # noqa: S608
        await conn.execute(copy)
