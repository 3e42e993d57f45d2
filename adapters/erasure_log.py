"""The erasure log, outside the ledger database: an append-only file, or a table in another database.

`OPTIN_ERASURE_LOG` names it: a file path (default `<data dir>/erasures.log`, flushed to disk on
every line) or a `postgresql://` URL of a database that is not the ledger's and is not restored
with it. Lines hold contact ids only: random identifiers, nothing personal.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import asyncpg

from ledger.ports import ErasureLog


class FileErasureLog:
    def __init__(self, path: Path) -> None:
        self.path = path

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
        if not self.path.exists():
            return []
        text = await asyncio.to_thread(self.path.read_text)
        return [UUID(line.split()[-1]) for line in text.splitlines() if line.strip()]


class PostgresErasureLog:
    """A table in a database of its own (never the ledger's: that one is what gets restored)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def _connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.dsn)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS erasure_log ("
            " contact_id uuid PRIMARY KEY, erased_at timestamptz NOT NULL DEFAULT now())"
        )
        return conn

    async def record(self, contact_id: UUID) -> None:
        conn = await self._connect()
        try:
            await conn.execute(
                "INSERT INTO erasure_log (contact_id) VALUES ($1) ON CONFLICT DO NOTHING", contact_id
            )
        finally:
            await conn.close()

    async def erased(self) -> list[UUID]:
        conn = await self._connect()
        try:
            return [r[0] for r in await conn.fetch("SELECT contact_id FROM erasure_log ORDER BY erased_at")]
        finally:
            await conn.close()


def erasure_log(location: str) -> ErasureLog:
    if location.startswith(("postgresql://", "postgres://")):
        return PostgresErasureLog(location)
    return FileErasureLog(Path(location))
