"""`bench append`'s multi-process part: writer processes, each with its own store, on one ledger."""

from __future__ import annotations

import pytest

from adapters.postgres.event_store import read_after
from adapters.postgres.pool import create_pool
from api.bench.append import ledger_from_processes
from api.bench.scratch import scratch_schema
from ledger.chain import ChainRecord, first_break

pytestmark = pytest.mark.integration


async def test_writer_processes_share_one_gapless_chain(database_url: str) -> None:
    async with scratch_schema(database_url, "ledger") as schema:
        result = await ledger_from_processes(database_url, schema, 1.0, 6, "optin_app", 3)
        pool = await create_pool(database_url, role="optin_app", schema=schema, min_size=1, max_size=1)
        try:
            rows = await read_after(pool, 0, 1_000_000)
        finally:
            await pool.close()
    assert result["appended"] > 0
    assert (result["seen"], result["gaps"]) == (result["appended"], 0)
    assert [r.notification_id for r in rows] == list(range(1, result["appended"] + 1))
    records = (
        (
            ChainRecord(
                r.notification_id, r.originator_id, r.originator_version, r.topic, r.state, r.recorded_at
            ),
            r.hash,
        )
        for r in rows
    )
    assert first_break(records) is None
    # Three processes on one head: their predictions went wrong, and the database chained again.
    assert result["rechained"] > 0
