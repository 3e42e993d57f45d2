"""The audit export read from the ledger: NDJSON lines (`ledger/audit_export.py`) streamed in
batches from the events table, from a position up to the head as it was when the export began."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from adapters.postgres.event_store import read_after
from ledger.audit_export import header_line, record_line, trailer_line
from ledger.chain import GENESIS_HASH

_BATCH = 1000


class PostgresAuditExport:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def lines(self, after: int) -> tuple[AsyncIterator[bytes], str]:
        """The export's lines after `after`, and a file name for it."""
        pool = self._pool
        head = int(await pool.fetchval("SELECT position FROM ledger_head"))
        after = min(after, head)
        prev_hash = GENESIS_HASH
        if after:
            found = await pool.fetchval("SELECT hash FROM events WHERE notification_id = $1", after)
            prev_hash = bytes(found)

        async def lines() -> AsyncIterator[bytes]:
            yield header_line(after, prev_hash)
            position, last_hash, count = after, prev_hash, 0
            async with pool.acquire() as conn:
                while position < head:
                    batch = await read_after(conn, position, min(_BATCH, head - position))
                    if not batch:
                        break
                    yield b"".join(record_line(e) for e in batch)
                    position, last_hash = batch[-1].notification_id, bytes(batch[-1].hash)
                    count += len(batch)
            yield trailer_line(count, last_hash)

        return lines(), f"optin-ledger-audit-{after + 1}-{head}.ndjson"
