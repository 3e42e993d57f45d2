"""`bench replay`: append N opt-in events to a scratch ledger, time a full projection rebuild.

The baseline, in the same run on the same events, is a bare fold written by hand: every event
read in pages of the rebuild's size with one asyncpg query each, its state decoded with msgspec
and merged into its program's row (a dict), and those rows written with one COPY into a table of
their own. The rebuild does more for the same events: typed domain events, every
disclosure version kept, a read model built aside and swapped in without making readers wait.
The two take turns for `rounds` rounds (a rebuild may follow another: each builds aside), and
the ratio is the median of the rounds' ratios, as in the other benches.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import asyncpg
import msgspec

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool, quote_ident
from adapters.runtime import settle_heap
from api.bench.rounds import alternate
from api.bench.scratch import scratch_schema
from ledger.codec import LedgerMapper
from ledger.program import Program, new_program
from ledger.vocabulary import SYSTEM
from projections.programs import ProgramsProjection
from projections.runner import ProjectionRunner

_EVENTS_PER_PROGRAM = 5
_PAGE = 5000  # events a round trip, as the rebuild reads them (its batch size below)
_READ = (
    "SELECT notification_id, originator_id, originator_version, topic, state, recorded_at "
    "FROM events WHERE notification_id > $1 ORDER BY notification_id LIMIT $2"
)


def _program_events(mapper: LedgerMapper, i: int) -> list[Any]:
    program: Program = new_program(
        name=f"Program {i}",
        description="Benchmark program",
        purpose="marketing",
        channels=("email",),
        disclosure=f"By opting in you agree to receive program {i} messages. Reply STOP to stop.",
        actor=SYSTEM,
    )
    program.rename(f"Program {i} (renamed)", SYSTEM)
    program.describe("Benchmark program, described again", SYSTEM)
    program.change_disclosure(f"Version 2 of the program {i} disclosure.", SYSTEM)
    program.set_channels(("email", "sms"), SYSTEM)
    return [mapper.to_stored_event(e) for e in program.collect_events()]


async def bare_fold(pool: asyncpg.Pool) -> int:
    """The baseline: every event read in pages, in order, decoded, and its fields merged into its
    stream's row (a dict); those rows written with one COPY. The events folded."""
    decode, encode = msgspec.json.decode, msgspec.json.encode
    latest: dict[Any, tuple[int, int, dict[str, Any]]] = {}
    last, folded = 0, 0
    while True:
        rows = await pool.fetch(_READ, last, _PAGE)
        if not rows:
            break
        for row in rows:
            state = decode(row[4])
            before = latest.get(row[1])
            latest[row[1]] = (row[2], row[0], state if before is None else before[2] | state)
        folded += len(rows)
        last = rows[-1][0]
    records = [
        (stream, version, position, encode(state).decode())
        for stream, (version, position, state) in latest.items()
    ]
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("TRUNCATE bare_programs")
        await conn.copy_records_to_table("bare_programs", records=records)
    return folded


async def _bare_table(dsn: str, schema: str, role: str | None) -> None:
    """The baseline's table, in the scratch schema, writable by the role the pool uses."""
    table = f"{quote_ident(schema)}.bare_programs"
    conn = await asyncpg.connect(dsn)
    try:
        columns = "id uuid PRIMARY KEY, version bigint, position bigint, state jsonb"
        await conn.execute(f"CREATE TABLE {table} ({columns})")
        if role:
            await conn.execute(f"GRANT SELECT, INSERT, TRUNCATE ON {table} TO {quote_ident(role)}")
    finally:
        await conn.close()


async def run(dsn: str, events: int, role: str | None, rounds: int = 3) -> dict[str, Any]:
    mapper = LedgerMapper()
    async with scratch_schema(dsn, "replay") as schema:
        await migrate(dsn, schema=schema)
        pool = await create_pool(dsn, role=role, schema=schema, min_size=2, max_size=4)
        try:
            store = PostgresEventStore(pool)
            programs = max(1, events // _EVENTS_PER_PROGRAM)
            chunk: list[Any] = []
            for i in range(programs):
                chunk.extend(_program_events(mapper, i))
                if len(chunk) >= 1000:
                    await store.append(chunk)
                    chunk = []
            if chunk:
                await store.append(chunk)
            appended = await store.head()
            projection = ProgramsProjection()
            runner = ProjectionRunner(pool, [projection], batch_size=_PAGE)
            await _bare_table(dsn, schema, role)
            settle_heap()  # as `replay` and `serve` do once they have started

            async def baseline() -> dict[str, Any]:
                started = time.perf_counter()
                return {"events": await bare_fold(pool), "seconds": time.perf_counter() - started}

            async def rebuild() -> dict[str, Any]:
                started = time.perf_counter()
                applied = await runner.rebuild(projection)
                return {"events": applied, "seconds": time.perf_counter() - started}

            pairs = await alternate(rounds, baseline, rebuild)
            rows = await pool.fetchval("SELECT count(*) FROM optins")
        finally:
            await pool.close()
    rates = [rebuilt["events"] / rebuilt["seconds"] for _, rebuilt in pairs]
    bare_rates = [bare["events"] / bare["seconds"] for bare, _ in pairs]
    ratios = [rebuilt / bare for rebuilt, bare in zip(rates, bare_rates, strict=True)]
    return {
        "events": appended,
        "applied": pairs[-1][1]["events"],
        "read_model_rows": rows,
        "rounds": len(pairs),
        "seconds": round(statistics.median(rebuilt["seconds"] for _, rebuilt in pairs), 3),
        "events_per_s": round(statistics.median(rates), 1),
        "bare_fold_per_s": round(statistics.median(bare_rates), 1),
        "ratio_vs_bare": round(statistics.median(ratios), 3),
        "ratios_by_round": [round(r, 2) for r in ratios],
        "bare_folded": pairs[-1][0]["events"],
    }
