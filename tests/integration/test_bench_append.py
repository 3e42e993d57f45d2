"""Writer processes, each with its own store, on one ledger: `bench append`'s multi-process part,
and one of them killed mid-storm."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import pytest

from adapters.postgres.event_store import read_after
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool
from api.bench.append import ledger_from_processes, start_writer
from api.bench.scratch import scratch_schema
from ledger.chain import ChainRecord, first_break
from ledger.merkle import event_leaf

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


async def test_a_writer_process_killed_mid_storm_leaves_the_others_one_gapless_chain(
    database_url: str,
) -> None:
    """kill -9 of one of two writer processes while both append onto one head: PostgreSQL rolls
    back whatever batch it had open (and frees the head's lock), the other goes on, and the
    ledger stays one gapless chain whose hashes and Merkle leaves verify."""
    async with scratch_schema(database_url, "ledger") as schema:
        await migrate(database_url, schema=schema)
        spec = {"dsn": database_url, "role": "optin_app", "schema": schema, "tasks": 8, "seconds": 3.0}
        spec["start_at"] = time.time() + 1.0
        children = [await start_writer(spec) for _ in range(2)]
        await asyncio.sleep(2.0)  # a second into the storm
        children[0].kill()
        out, _ = await children[1].communicate()
        await children[0].wait()
        survivor = json.loads(out)
        pool = await create_pool(database_url, role="optin_app", schema=schema, min_size=1, max_size=1)
        try:
            rows = await read_after(pool, 0, 1_000_000)
            leaves = await pool.fetch("SELECT leaf_hash FROM events ORDER BY notification_id")
        finally:
            await pool.close()
    assert children[0].returncode == -signal.SIGKILL
    assert survivor["appended"] > 0 and survivor["rechained"] > 0
    assert len(rows) > survivor["appended"]  # the killed one had appended too
    assert [r.notification_id for r in rows] == list(range(1, len(rows) + 1))
    records = [
        ChainRecord(r.notification_id, r.originator_id, r.originator_version, r.topic, r.state, r.recorded_at)
        for r in rows
    ]
    assert first_break(zip(records, (r.hash for r in rows), strict=True)) is None
    assert [bytes(leaf[0]) for leaf in leaves] == [event_leaf(record) for record in records]
