"""The projector killed in the middle of a rebuild (`optin-ledger replay optins`, kill -9): the
read model stays as it was, at its position; the rebuild run again starts over, completes, and
gives the same rows as the live projector folding the same events batch by batch."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.pool import create_pool
from api.bench.replay import _program_events
from ledger.codec import LedgerMapper
from ledger.program import Program
from ledger.repository import Repository
from tests.chaos.processes import Service, command, environment, postgres_dsn, wait_until

pytestmark = pytest.mark.chaos

PROGRAMS = 20_000  # five events each: a rebuild of a second or two, long enough to be cut short
# A rebuild under way, for long enough to be half-way: a transaction writing the read model's
# temporary copy (the build, projections/shadow.py) or holding the projection's advisory lock
# (the swap) that began a while ago. Either phase killed must leave the read model as it was.
_REBUILDING = (
    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "LEFT JOIN pg_class c ON c.oid = l.relation LEFT JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE l.granted AND a.xact_start < clock_timestamp() - interval '0.2 s' "
    "AND (l.locktype = 'advisory' OR (n.nspname LIKE 'pg\\_temp\\_%' AND c.relname = 'optins'))"
)


async def append_programs(dsn: str) -> int:
    pool = await create_pool(dsn, role="optin_app", min_size=1, max_size=4)
    try:
        store, mapper, chunk = PostgresEventStore(pool), LedgerMapper(), []
        for i in range(PROGRAMS):
            chunk.extend(_program_events(mapper, i))
            if len(chunk) >= 2000 or i == PROGRAMS - 1:
                await store.append(chunk)
                chunk = []
        await store.close()
        return await store.head()
    finally:
        await pool.close()


async def read_model(dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        programs = await conn.fetch("SELECT * FROM optins ORDER BY id")
        disclosures = await conn.fetch("SELECT * FROM optin_disclosures ORDER BY optin_id, version")
        position = await conn.fetchval("SELECT position FROM projection_tracking WHERE name = 'optins'")
        return {
            "optins": [dict(r) for r in programs],
            "disclosures": [dict(r) for r in disclosures],
            "position": position,
        }
    finally:
        await conn.close()


async def rebuilding(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval(_REBUILDING))
    finally:
        await conn.close()


async def agrees_with_the_aggregates(dsn: str, rows: list[dict[str, Any]]) -> None:
    pool = await create_pool(dsn, role="optin_app", min_size=1, max_size=2)
    try:
        repo = Repository(PostgresEventStore(pool))
        for row in rows[:: len(rows) // 50]:
            program = await repo.get(Program, row["id"])
            assert (row["name"], row["description"], tuple(row["channels"]), row["disclosure"]) == (
                program.name,
                program.description,
                program.channels,
                program.disclosure,
            )
            assert (row["disclosure_version"], row["archived"], row["version"]) == (
                program.disclosure_version,
                program.archived,
                program.version,
            )
    finally:
        await pool.close()


def test_a_rebuild_killed_half_way_leaves_the_read_model_and_starts_over(
    data_dir: Path, tmp_path: Path
) -> None:
    service = Service(data_dir, tmp_path / "serve.log").start()  # the server and the live projector
    try:
        dsn = postgres_dsn(data_dir)
        head = asyncio.run(append_programs(dsn))
        wait_until(lambda: asyncio.run(read_model(dsn))["position"] == head, 60, "the live projector")
        live = asyncio.run(read_model(dsn))
        assert len(live["optins"]) == PROGRAMS

        log = tmp_path / "replay.log"
        replay = command(data_dir, log, "replay", "optins", env=environment())
        wait_until(lambda: asyncio.run(rebuilding(dsn)), 60, "the rebuild to start", every=0.02)
        replay.send_signal(signal.SIGKILL)
        assert replay.wait(30) == -signal.SIGKILL
        assert "events applied" not in log.read_text(), "the rebuild ended before the kill"
        wait_until(lambda: not asyncio.run(rebuilding(dsn)), 30, "the killed rebuild's transaction to end")
        assert asyncio.run(read_model(dsn)) == live  # untouched, and at the same position

        again = command(data_dir, log, "replay", "optins", env=environment())
        assert again.wait(120) == 0, log.read_text()
        assert f"optins: {PROGRAMS * 5} events applied" in log.read_text()
        assert asyncio.run(read_model(dsn)) == live
        asyncio.run(agrees_with_the_aggregates(dsn, live["optins"]))
    finally:
        service.stop()
