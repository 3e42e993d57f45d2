"""Applying an import's partitions side by side, one process each (a large file on several cores).

Each process has its own pool and plans one partition (`adapters.import_spool`: every row about
a contact is in the same partition, in file order), so processes never touch the same streams;
their appends go through this process's event store (`adapters.import_appends`), which chains
them onto one head. Progress and results come back on one queue. Any process failing fails the
import (rows already applied stay applied, and a re-run completes the rest: every row has its
deterministic key).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import socket
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.crypto.sealer import NaclSealer
from adapters.import_appends import RemoteAppends, serve_appends
from adapters.import_spool import spooled_rows
from adapters.postgres.import_store import PostgresImportStore
from adapters.postgres.pool import create_pool
from adapters.runtime import collector_paused, settle_heap
from ledger.application.imports import ConsentImport, ImportReport, Progress
from ledger.ports import EventStore
from ledger.vocabulary import Actor


@dataclass(frozen=True, slots=True)
class Parallel:
    """Where the worker processes connect, and how many there are."""

    dsn: str
    role: str | None
    schema: str | None = None
    workers: int = 2
    min_rows: int = 50_000
    """Smaller files are applied in this process (starting processes costs a second or two)."""


@dataclass(frozen=True, slots=True)
class _Job:
    parallel: Parallel
    path: Path
    digest: bytes
    kek: bytes
    index_key: bytes
    actor: Actor
    dry_run: bool
    appends: socket.socket


def _run(job: _Job, results: Any, number: int) -> None:
    """A worker process: apply one partition, report progress and the outcome."""
    try:
        outcomes, position = asyncio.run(_apply(job, lambda n: results.put(("progress", number, n, None))))
        results.put(("done", number, dict(outcomes), position))
    except BaseException as e:  # reported to the parent, which fails the import
        results.put(("error", number, f"{type(e).__name__}: {e}", None))


async def _apply(job: _Job, progress: Progress) -> tuple[Counter[str], int | None]:
    p = job.parallel
    pool = await create_pool(p.dsn, role=p.role, schema=p.schema, min_size=1, max_size=4)
    appends = await RemoteAppends.connect(job.appends)
    try:
        importer = ConsentImport(
            appends, PostgresImportStore(pool, job.kek), NaclSealer(job.index_key), job.actor
        )
        report = ImportReport(format="csv")
        settle_heap()  # start-up objects out of the collector's way
        with collector_paused():  # millions of short-lived objects, freed by reference counts
            await importer.apply(
                spooled_rows(job.path), job.digest, report, dry_run=job.dry_run, progress=progress
            )
        return Counter({str(k): v for k, v in report.outcomes.items()}), report.position
    finally:
        await appends.close()
        await pool.close()


async def apply_in_processes(
    parallel: Parallel,
    store: EventStore,
    paths: list[Path],
    digest: bytes,
    keys: tuple[bytes, bytes],
    actor: Actor,
    report: ImportReport,
    *,
    dry_run: bool,
    progress: Progress | None,
) -> None:
    context = multiprocessing.get_context("spawn")  # no fork of a running event loop
    results = context.Queue()
    pairs = [socket.socketpair() for _ in paths]
    processes = [
        context.Process(
            target=_run,
            args=(_Job(parallel, path, digest, *keys, actor, dry_run, pairs[n][1]), results, n),
            daemon=True,
        )
        for n, path in enumerate(paths)
    ]
    for process in processes:
        process.start()
    for _, theirs in pairs:
        theirs.close()  # the workers hold these ends: a worker closing its end ends its serving
    appending = [asyncio.create_task(serve_appends(mine, store)) for mine, _ in pairs]
    loop, running, failure = asyncio.get_running_loop(), len(processes), None
    try:
        while running:
            try:
                kind, _, value, position = await loop.run_in_executor(None, results.get, True, 1.0)
            except queue.Empty:
                if not any(p.is_alive() for p in processes) and results.empty():
                    failure = failure or "a worker process ended without an answer"
                    break
                continue
            if kind == "progress" and progress:
                progress(value)
            elif kind == "done":
                running -= 1
                report.outcomes.update(value)
                if position is not None:
                    report.position = max(report.position or 0, position)
            elif kind == "error":
                running -= 1
                failure = failure or value
    finally:
        for serving in appending:  # the workers are gone: their appends were all answered
            serving.cancel()
        await asyncio.gather(*appending, return_exceptions=True)
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
    if failure:
        raise RuntimeError(f"the import failed part way (re-run it to complete): {failure}")
    report.applied = not dry_run
