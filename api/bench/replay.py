"""`bench replay`: append N opt-in events to a scratch ledger, time a full projection rebuild."""

from __future__ import annotations

import time
from typing import Any

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool
from adapters.runtime import settle_heap
from api.bench.scratch import scratch_schema
from ledger.codec import LedgerMapper
from ledger.program import Program, new_program
from ledger.vocabulary import SYSTEM
from projections.programs import ProgramsProjection
from projections.runner import ProjectionRunner

_EVENTS_PER_PROGRAM = 5


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


async def run(dsn: str, events: int, role: str | None) -> dict[str, Any]:
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
            runner = ProjectionRunner(pool, [projection], batch_size=5000)
            settle_heap()  # as `replay` and `serve` do once they have started
            started = time.perf_counter()
            applied = await runner.rebuild(projection)
            seconds = time.perf_counter() - started
            rows = await pool.fetchval("SELECT count(*) FROM optins")
        finally:
            await pool.close()
    return {
        "events": appended,
        "applied": applied,
        "read_model_rows": rows,
        "seconds": round(seconds, 3),
        "events_per_s": round(applied / seconds, 1),
    }
