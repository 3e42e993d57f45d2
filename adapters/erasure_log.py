"""The erasure log, outside the ledger database: an append-only file, or a table in another database.

`OPTIN_ERASURE_LOG` names it: a file path (default `<data dir>/erasures.log`, flushed to disk on
every line) or a `postgresql://` URL of a database that is not the ledger's and is not restored
with it. Lines hold contact ids only: random identifiers, nothing personal.

`prepare_erasure_log` creates it empty where the service starts (and refuses the ledger's own
database), so that from then on a log that is missing or unreadable means a wrong or lost
location, never "nobody was erased": `erased()` raises `ErasureLogError` then, and a restore
refuses to run rather than bring erased people back.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

import asyncpg

from ledger.ports import ErasureLog

_TABLE = (
    "CREATE TABLE IF NOT EXISTS erasure_log ("
    " contact_id uuid PRIMARY KEY, erased_at timestamptz NOT NULL DEFAULT now())"
)


class ErasureLogError(RuntimeError):
    """The erasure log cannot be read or is in the wrong place; the message names where (no password)."""


class FileErasureLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def prepare(self) -> None:
        await asyncio.to_thread(self._append, "")

    async def record(self, contact_id: UUID) -> None:
        await asyncio.to_thread(self._append, f"{datetime.now(UTC).isoformat()} {contact_id}\n")

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    async def erased(self) -> list[UUID]:
        try:
            text = await asyncio.to_thread(self.path.read_text)
        except FileNotFoundError as e:
            raise ErasureLogError(
                f"the erasure log {self.path} does not exist (the service creates it when it starts)"
            ) from e
        except OSError as e:
            raise ErasureLogError(f"the erasure log {self.path} cannot be read: {e.strerror}") from e
        try:
            return [UUID(line.split()[-1]) for line in text.splitlines() if line.strip()]
        except ValueError as e:
            raise ErasureLogError(f"the erasure log {self.path} holds a line that is not a contact id") from e


class PostgresErasureLog:
    """A table in a database of its own (never the ledger's: that one is what gets restored)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    @property
    def where(self) -> str:
        """The database, named without its password."""
        parts = urlsplit(self.dsn)
        return f"postgresql://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"

    async def _connect(self) -> asyncpg.Connection:
        try:
            return await asyncpg.connect(self.dsn, statement_cache_size=0)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as e:
            raise ErasureLogError(f"the erasure log database {self.where} cannot be reached: {e}") from e

    async def prepare(self) -> None:
        conn = await self._connect()
        try:
            await _refuse_a_ledger(conn, self.where)
            await conn.execute(_TABLE)
        finally:
            await conn.close()

    async def record(self, contact_id: UUID) -> None:
        conn = await self._connect()
        try:
            await conn.execute(_TABLE)
            await conn.execute(
                "INSERT INTO erasure_log (contact_id) VALUES ($1) ON CONFLICT DO NOTHING", contact_id
            )
        finally:
            await conn.close()

    async def erased(self) -> list[UUID]:
        conn = await self._connect()
        try:
            await _refuse_a_ledger(conn, self.where)
            if await conn.fetchval("SELECT to_regclass('erasure_log')") is None:
                raise ErasureLogError(
                    f"{self.where} holds no erasure log (the service creates it when it starts): "
                    "a wrong database?"
                )
            return [r[0] for r in await conn.fetch("SELECT contact_id FROM erasure_log ORDER BY erased_at")]
        except asyncpg.PostgresError as e:
            raise ErasureLogError(f"the erasure log in {self.where} cannot be read: {e}") from e
        finally:
            await conn.close()


async def _refuse_a_ledger(conn: asyncpg.Connection, where: str) -> None:
    """A database with a ledger in it is restored with that ledger: no place for the erasure log."""
    if await conn.fetchval("SELECT to_regclass('ledger_head')") is not None:
        raise ErasureLogError(
            f"OPTIN_ERASURE_LOG names {where}, which holds a ledger: a restore of that database would "
            "roll the log back with it; give the erasure log a database of its own"
        )


def erasure_log(location: str) -> FileErasureLog | PostgresErasureLog:
    if location.startswith(("postgresql://", "postgres://")):
        return PostgresErasureLog(location)
    return FileErasureLog(Path(location))


async def prepare_erasure_log(location: str) -> ErasureLog:
    """The erasure log at `location`, created empty if it is not there yet."""
    log = erasure_log(location)
    await log.prepare()
    return log
