"""`bench append`: one event per call from 32 concurrent writers, three ways, same database.

(a) raw single-row autocommit INSERTs, (b) eventsourcing's own `PostgresApplicationRecorder`
(psycopg, threads), (c) this ledger's store, with a follower tailing it and counting any event it
skipped or saw out of order. (a) and (c) take turns for several rounds, each round in the other
order, and the ratio is the median of the rounds' ratios: on a shared machine the disk's flush
time and the free CPU change within seconds, and a baseline measured once, always first, would
flatter or sink whichever part ran in the quieter moment.

Then (d), with `--workers N` above 1 (2 by default): the same 32 writers split over N processes,
each with its own store, onto one ledger, as API replicas and the outbox worker append in a
deployment; its rate is reported against the median raw rate, with how many batches found the
head moved by another process and were chained again in the database.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import threading
import time
import uuid
from typing import Any

import asyncpg

from adapters.postgres.dsn import libpq_params
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool, quote_ident
from api.bench.cpu import CpuWindow, median_each, per_unit
from api.bench.scratch import scratch_schema
from ledger.ports import StoredEvent

TOPIC = "bench.recorded"
STATE = b'{"actor":{"kind":"system"},"source":"api","note":"' + b"x" * 160 + b'"}'


async def raw_inserts(dsn: str, schema: str, seconds: float, tasks: int) -> tuple[int, dict[str, Any]]:
    """Rows inserted, and the CPU per row (`api.bench.cpu`)."""
    conn = await asyncpg.connect(dsn)
    table = f"{quote_ident(schema)}.raw_events"
    # The same row shape and constraints as the ledger's events table (minus the chain).
    await conn.execute(
        f"CREATE TABLE {table} (id bigserial PRIMARY KEY, originator_id uuid NOT NULL, "
        "originator_version bigint NOT NULL, topic text NOT NULL, state bytea NOT NULL, "
        "recorded_at timestamptz NOT NULL DEFAULT now(), "
        "UNIQUE (originator_id, originator_version))"
    )
    await conn.close()
    connections = [await asyncpg.connect(dsn) for _ in range(tasks)]
    deadline = time.perf_counter() + seconds
    columns = "originator_id, originator_version, topic, state"
    sql = f"INSERT INTO {table} ({columns}) VALUES ($1, $2, $3, $4)"  # noqa: S608 (own scratch name)

    async def worker(c: asyncpg.Connection) -> int:
        stream, n = uuid.uuid4(), 0
        while time.perf_counter() < deadline:
            n += 1
            await c.execute(sql, stream, n, TOPIC, STATE)
        return n

    try:
        window = await CpuWindow.start(dsn)
        inserted = sum(await asyncio.gather(*(worker(c) for c in connections)))
        return inserted, per_unit(await window.stop(), inserted)
    finally:
        for c in connections:
            await c.close()


def eventsourcing_recorder(dsn: str, schema: str, seconds: float, threads: int) -> int:
    from eventsourcing.persistence import StoredEvent as EsStoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    p = libpq_params(dsn)
    datastore = PostgresDatastore(
        p["dbname"],
        p["host"],
        p["port"],
        p["user"],
        p["password"],
        pool_size=threads,
        schema=schema,
    )
    recorder = PostgresApplicationRecorder(datastore, events_table_name="es_events")
    recorder.create_table()
    deadline = time.perf_counter() + seconds
    counts = [0] * threads

    def worker(i: int) -> None:
        stream = uuid.uuid4()
        while time.perf_counter() < deadline:
            counts[i] += 1
            recorder.insert_events([EsStoredEvent(stream, counts[i], TOPIC, STATE)])

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    datastore.close()
    return sum(counts)


async def appends_for(store: PostgresEventStore, seconds: float, tasks: int) -> int:
    """`tasks` writers, each appending one event per call to a stream of its own, for `seconds`;
    the events appended."""
    deadline = time.perf_counter() + seconds

    async def worker() -> int:
        stream, n = uuid.uuid4(), 0
        while time.perf_counter() < deadline:
            n += 1
            await store.append([StoredEvent(stream, n, TOPIC, STATE)])
        return n

    return sum(await asyncio.gather(*(worker() for _ in range(tasks))))


async def ledger_appends(
    dsn: str, schema: str, seconds: float, tasks: int, role: str | None
) -> dict[str, Any]:
    await migrate(dsn, schema=schema)
    pool = await create_pool(dsn, role=role, schema=schema, min_size=4, max_size=8)
    store = PostgresEventStore(pool)
    done = asyncio.Event()
    follower = asyncio.create_task(_follow(store, done))
    try:
        window = await CpuWindow.start(dsn)
        appended = await appends_for(store, seconds, tasks)
        done.set()
        seen, gaps = await follower  # its catch-up is work the appends made: inside the window
        cpu = per_unit(await window.stop(), appended)
    finally:
        await store.close()
        await pool.close()
    return {
        "cpu": cpu,
        "appended": appended,
        "seen": seen,
        "gaps": gaps,
        "batches": store.stats.batches,
        "pipelined": store.stats.pipelined,
        "head_moved": store.stats.head_moved,
        "rechained": store.stats.rechained,
    }


async def start_writer(spec: dict[str, Any]) -> asyncio.subprocess.Process:
    """A writer process (`api.bench.append_process`) given `spec` on its stdin; its counts come
    as JSON on its stdout when it ends."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "api.bench.append_process",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None
    child.stdin.write(json.dumps(spec).encode())
    child.stdin.close()
    return child


async def ledger_from_processes(
    dsn: str, schema: str, seconds: float, tasks: int, role: str | None, processes: int
) -> dict[str, Any]:
    """`tasks` writers split over `processes` processes (`api.bench.append_process`), each with
    its own store, onto one ledger: as API replicas and the outbox worker append. A follower
    here counts gaps as in the single-process part."""
    await migrate(dsn, schema=schema)
    start_at = time.time() + 2.0  # every process connected and waiting by then
    shares = [tasks // processes + (1 if i < tasks % processes else 0) for i in range(processes)]
    spec = {"dsn": dsn, "role": role, "schema": schema, "seconds": seconds, "start_at": start_at}
    children = [await start_writer(spec | {"tasks": n}) for n in shares]
    pool = await create_pool(dsn, role=role, schema=schema, min_size=1, max_size=2)
    store = PostgresEventStore(pool)
    done = asyncio.Event()
    follower = asyncio.create_task(_follow(store, done))
    try:
        outs = await asyncio.gather(*(child.communicate() for child in children))
        done.set()
        seen, gaps = await follower
    finally:
        follower.cancel()
        await pool.close()
    failed = [child.returncode for child in children if child.returncode]
    if failed:
        raise RuntimeError(f"a writer process of `bench append` exited with {failed[0]}")
    counts = [json.loads(out) for out, _ in outs]
    appended = sum(c["appended"] for c in counts)
    return {
        "appended": appended,
        "seen": seen,
        "gaps": gaps + abs(appended - seen),
        "batches": sum(c["batches"] for c in counts),
        "rechained": sum(c["rechained"] for c in counts),
        "head_moved": sum(c["head_moved"] for c in counts),
    }


async def _follow(store: PostgresEventStore, done: asyncio.Event) -> tuple[int, int]:
    """Tail the ledger as a projection would; count events skipped or out of order."""
    last, seen, gaps = 0, 0, 0
    while True:
        batch = await store.read_after(last, 5000)
        for event in batch:
            if event.notification_id != last + 1:
                gaps += 1
            last = max(last, event.notification_id)
            seen += 1
        if not batch:
            if done.is_set() and last >= await store.head():
                return seen, gaps
            await asyncio.sleep(0.002)


async def run(
    dsn: str, seconds: float, tasks: int, role: str | None, rounds: int = 3, processes: int = 2
) -> dict[str, Any]:
    raw_rates: list[float] = []
    ledger_rates: list[float] = []
    raw_cpu: list[dict[str, Any]] = []
    ledger_cpu: list[dict[str, Any]] = []
    totals = {
        "appended": 0,
        "seen": 0,
        "gaps": 0,
        "batches": 0,
        "pipelined": 0,
        "head_moved": 0,
        "rechained": 0,
    }
    for n in range(rounds):
        for part in ("raw", "ledger") if n % 2 == 0 else ("ledger", "raw"):
            if part == "raw":
                async with scratch_schema(dsn, "append") as schema:
                    inserted, cpu = await raw_inserts(dsn, schema, seconds, tasks)
                raw_rates.append(inserted / seconds)
                raw_cpu.append(cpu)
            else:
                async with scratch_schema(dsn, "ledger") as schema:
                    one = await ledger_appends(dsn, schema, seconds, tasks, role)
                ledger_rates.append(one["appended"] / seconds)
                ledger_cpu.append(one["cpu"])
                totals = {k: v + one[k] for k, v in totals.items()}
    async with scratch_schema(dsn, "es") as schema:
        es_per_s = await asyncio.to_thread(eventsourcing_recorder, dsn, schema, seconds, tasks) / seconds
    multi: dict[str, Any] = {}
    if processes > 1:
        async with scratch_schema(dsn, "ledger") as schema:
            split = await ledger_from_processes(dsn, schema, seconds, tasks, role, processes)
        multi = {
            "processes": processes,
            "processes_per_s": round(split["appended"] / seconds, 1),
            "processes_ratio_vs_raw": round(split["appended"] / seconds / statistics.median(raw_rates), 3),
            "processes_events_per_batch": round(split["appended"] / max(split["batches"], 1), 1),
            "processes_batches_rechained": split["rechained"],
            "processes_batches_refused": split["head_moved"],
            "processes_follower_gaps": split["gaps"],
        }
    ratios = [ledger / raw for ledger, raw in zip(ledger_rates, raw_rates, strict=True)]
    ledger_per_s = statistics.median(ledger_rates)
    return {
        "seconds": seconds,
        "tasks": tasks,
        "rounds": rounds,
        "raw_insert_per_s": round(statistics.median(raw_rates), 1),
        "eventsourcing_per_s": round(es_per_s, 1),
        "ledger_per_s": round(ledger_per_s, 1),
        "ratio_vs_raw": round(statistics.median(ratios), 3),
        "ratios_by_round": [round(r, 2) for r in ratios],
        "ratio_vs_eventsourcing": round(ledger_per_s / es_per_s, 3),
        "events_per_batch": round(totals["appended"] / max(totals["batches"], 1), 1),
        "batches_pipelined": totals["pipelined"],
        "batches_refused": totals["head_moved"],
        "batches_rechained": totals["rechained"],
        "follower_seen": totals["seen"],
        "ledger_appended": totals["appended"],
        "follower_gaps": totals["gaps"] + abs(totals["appended"] - totals["seen"]),
        # CPU per event and per raw row, in microseconds (medians of the rounds; `api.bench.cpu`):
        # this process (writers, store, follower), PostgreSQL, the whole machine.
        "cpu_us_per_event": median_each(ledger_cpu),
        "raw_cpu_us_per_insert": median_each(raw_cpu),
    } | multi
