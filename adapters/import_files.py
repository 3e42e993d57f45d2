"""Running a consent import on a file: programs from the read model, two streaming passes.

The file is read twice, never held in memory: once to check every row (and take its SHA-256,
the import's id), then, only if every row is good, once more to apply it in chunks.
"""

from __future__ import annotations

import hashlib
import itertools
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import asyncpg

from adapters.crypto.sealer import NaclSealer
from adapters.import_spool import Spools, spooled_rows
from adapters.import_workers import Parallel, apply_in_processes
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.import_store import PostgresImportStore
from adapters.runtime import collector_paused
from ledger.application.imports import ConsentImport, Format, ImportReport, Progress, detect_format, rows_of
from ledger.errors import InvalidValueError
from ledger.import_rows import Resolve
from ledger.vocabulary import Actor, Channel


async def program_resolver(pool: asyncpg.Pool) -> Resolve:
    """Programs by id or exact name (a name two programs share must be given as an id)."""
    rows = await pool.fetch("SELECT id, name, channels, archived FROM optins")
    by_id = {str(r["id"]): r for r in rows}
    by_name: dict[str, list[asyncpg.Record]] = {}
    for r in rows:
        by_name.setdefault(r["name"], []).append(r)

    def resolve(program: str, channel: Channel) -> UUID:
        found = by_id.get(program.lower()) or by_id.get(program)
        if found is None:
            named = by_name.get(program, [])
            if len(named) > 1:
                raise InvalidValueError("two programs have this name: give the program's id")
            found = named[0] if named else None
        if found is None:
            raise InvalidValueError("no such program")
        if found["archived"]:
            raise InvalidValueError("the program is archived")
        if channel not in found["channels"]:
            raise InvalidValueError(f"the program does not use the {channel} channel")
        program_id: UUID = found["id"]
        return program_id

    return resolve


def _lines(path: Path, digest: hashlib._Hash | None = None) -> Iterator[str]:
    with path.open("rb") as f:
        for raw in f:
            if digest is not None:
                digest.update(raw)
            yield raw.decode("utf-8", errors="replace")


class FileImports:
    """Consent imports from files, on one pool and event store (`serve`'s, or the command's)."""

    def __init__(
        self, pool: asyncpg.Pool, store: PostgresEventStore, kek: bytes, index_key: bytes, region: str = "US"
    ) -> None:
        self.pool = pool
        self.store = store
        self.kek = kek
        self.index_key = index_key
        self.region = region

    async def run(
        self,
        path: Path,
        actor: Actor,
        *,
        dry_run: bool,
        name: str | None = None,
        progress: Callable[[str, int | None], Progress] | None = None,
        parallel: Parallel | None = None,
    ) -> ImportReport:
        """Check, then (unless a dry run or any row is bad) apply. `progress(phase, total)` gives a
        callback; with `parallel`, the rows are applied by that many processes, split by contact."""
        with path.open("rb") as f:
            first = f.readline().decode("utf-8", errors="replace")
        fmt: Format = detect_format((name or path.name).lower(), first)
        resolve = await program_resolver(self.pool)
        report = ImportReport(format=fmt)
        sealer = NaclSealer(self.index_key)
        importer = ConsentImport(self.store, PostgresImportStore(self.pool, self.kek), sealer, actor)
        digest = hashlib.sha256()
        workers = parallel.workers if parallel is not None else 1
        with tempfile.TemporaryDirectory(prefix="optin-import-") as folder:
            spools = Spools(Path(folder), workers, sealer)
            started = time.perf_counter()
            try:
                rows = rows_of(_lines(path, digest), fmt, resolve, datetime.now(UTC), self.region)
                importer.validate(rows, report, progress and progress("checking", None), keep=spools.keep)
            finally:
                spools.close()
            report.seconds["checking"] = time.perf_counter() - started
            if not report.valid or not report.rows:
                return report
            advance = progress and progress("applying" if not dry_run else "dry run", report.rows)
            started = time.perf_counter()
            if parallel is None or workers == 1 or report.rows < parallel.min_rows:
                spooled = itertools.chain.from_iterable(spooled_rows(p) for p in spools.paths)
                with collector_paused():  # millions of short-lived objects, freed by reference counts
                    await importer.apply(spooled, digest.digest(), report, dry_run=dry_run, progress=advance)
            else:
                await apply_in_processes(
                    parallel, self.store, spools.paths, digest.digest(), (self.kek, self.index_key),
                    actor, report, dry_run=dry_run, progress=advance,
                )  # fmt: skip
            report.seconds["applying"] = time.perf_counter() - started
        return report
