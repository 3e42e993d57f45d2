"""Importing consent from a sender's own records: validate the whole file, then apply it in chunks.

- Bad rows are reported by line number and change nothing: the whole file is checked first
  (streaming, constant memory), and nothing is applied unless every row is good.
- Imported opt-ins are recorded with `source: import` and the sender's stated evidence
  (`ledger.import_provenance`), never as verified by this service. An opt-in older than the
  decision in force is `superseded`; one for a number or address opted out channel-wide is
  refused (only the contact's own START or code lifts that). Opt-outs take effect at once.
- Re-running a file changes nothing: each row has a deterministic key, kept in its event's
  evidence, and a row whose key is already on the consent stream is `already_imported`.
- A dry run reports what would change and writes nothing (not even new contacts).
- Chunks are appended atomically, each in one call (the event store groups concurrent appends),
  so a crash loses at most the chunk in flight, and a re-run completes it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID

from ledger.application.import_plan import ChunkPlanner, Histories, Outcome, Plan, Registered
from ledger.codec import LedgerMapper
from ledger.errors import ConflictError
from ledger.import_provenance import import_id
from ledger.import_rows import ImportRow, Resolve, RowProblem, parse_row, read_csv, read_ndjson
from ledger.ports import Sealer, StoredEvent
from ledger.vocabulary import Actor

Format = Literal["csv", "ndjson"]
MAX_PROBLEMS = 1000
CHUNK = 2000


class Appends(Protocol):
    """Where an import's events go: the event store, or a process appending for several."""

    async def append(self, events: Sequence[StoredEvent]) -> int: ...


class ImportStore(Protocol):
    """Batch reads and claims the import needs (one round trip per chunk, not per row)."""

    async def contacts(self, indexes: Sequence[bytes]) -> dict[bytes, UUID]:
        """The contacts these blind indexes already name (a dry run: nothing is claimed)."""
        ...

    async def register(self, indexes: Sequence[bytes]) -> Registered:
        """Each index's contact: the one it names, or a new one claimed for it with a new data
        key (both or neither), and the data keys of all of them."""
        ...

    async def histories(self, streams: Sequence[UUID]) -> Histories: ...


@dataclass(slots=True)
class ImportReport:
    format: Format
    rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    problem_count: int = 0
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    applied: bool = False
    position: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    """How long each phase took (`checking`, `applying`)."""

    @property
    def valid(self) -> bool:
        return self.problem_count == 0


def detect_format(name: str, first_line: str) -> Format:
    if name.endswith((".ndjson", ".jsonl", ".json")) or first_line.lstrip().startswith("{"):
        return "ndjson"
    return "csv"


def rows_of(
    lines: Iterable[str], fmt: Format, resolve: Resolve, now: datetime, region: str
) -> Iterator[ImportRow | RowProblem]:
    reader = read_csv(lines) if fmt == "csv" else read_ndjson(lines)
    for line, fields in reader:
        yield fields if isinstance(fields, RowProblem) else parse_row(line, fields, resolve, now, region)


def digest_of(chunks: Iterable[bytes]) -> bytes:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.digest()


Progress = Callable[[int], None]
"""Called with the number of rows just validated or applied."""


class ConsentImport:
    def __init__(
        self,
        store: Appends,
        batch: ImportStore,
        sealer: Sealer,
        actor: Actor,
        mapper: LedgerMapper | None = None,
    ) -> None:
        self.store = store
        self.batch = batch
        self.sealer = sealer
        self.actor = actor
        self.mapper = mapper or LedgerMapper()

    def validate(
        self,
        rows: Iterable[ImportRow | RowProblem],
        report: ImportReport,
        progress: Progress | None = None,
        keep: Callable[[ImportRow], None] | None = None,
    ) -> None:
        """First pass: count rows, keep the first problems (line numbers); hand good rows to
        `keep` (a spool the second pass reads, so no row is parsed twice)."""
        for row in rows:
            report.rows += 1
            if isinstance(row, RowProblem):
                report.problem_count += 1
                if len(report.problems) < MAX_PROBLEMS:
                    report.problems.append(row)
            elif keep is not None and not report.problem_count:
                keep(row)
            if progress and report.rows % 1000 == 0:
                progress(1000)
        if progress:
            progress(report.rows % 1000)

    async def apply(
        self,
        rows: Iterable[ImportRow | RowProblem],
        digest: bytes,
        report: ImportReport,
        *,
        dry_run: bool,
        progress: Progress | None = None,
    ) -> None:
        """Second pass (only for a valid file): plan and append chunk by chunk."""
        assert report.valid, "validate the whole file first"
        planner = ChunkPlanner(self.batch, self.sealer, self.mapper, self.actor, import_id(digest))
        # Three chunks at once: while one is decided (Python), the next one's contacts are
        # claimed and read, and the previous one is appended (the database). A chunk prepared
        # before its predecessor landed and touching the same streams meets a version conflict
        # when appended, and is planned again.
        chunks = _chunks(rows)
        chunk = next(chunks, None)
        preparing = asyncio.create_task(planner.prepare(chunk, dry_run)) if chunk else None
        in_flight: asyncio.Task[tuple[Counter[Outcome], int | None, int]] | None = None
        try:
            while chunk is not None and preparing is not None:
                prepared = await preparing
                following = next(chunks, None)
                preparing = asyncio.create_task(planner.prepare(following, dry_run)) if following else None
                await asyncio.sleep(0)  # its query goes out before deciding takes the thread
                plan = planner.decide(prepared, dry_run)
                if in_flight is not None:
                    _count(report, await in_flight, progress)
                in_flight = asyncio.create_task(self._commit(planner, chunk, plan, dry_run))
                chunk = following
            if in_flight is not None:
                _count(report, await in_flight, progress)
        finally:  # a failed chunk ends the import: nothing more is claimed or appended
            for task in (preparing, in_flight):
                if task is not None and not task.done():
                    task.cancel()
        report.applied = not dry_run

    async def _commit(
        self, planner: ChunkPlanner, chunk: list[ImportRow], plan: Plan, dry_run: bool
    ) -> tuple[Counter[Outcome], int | None, int]:
        for attempt in range(3):
            if dry_run or not plan.aggregates:
                return plan.outcomes, None, len(chunk)
            events = [self.mapper.to_stored_event(e) for a in plan.aggregates for e in a.collect_events()]
            try:
                return plan.outcomes, await self.store.append(events), len(chunk)
            except ConflictError:  # someone changed one of these streams meanwhile: plan again
                if attempt == 2:
                    raise
                plan = await planner.plan(chunk, dry_run)
        raise AssertionError("unreachable")


def _count(
    report: ImportReport, done: tuple[Counter[Outcome], int | None, int], progress: Progress | None
) -> None:
    outcomes, position, rows = done
    report.outcomes.update(outcomes)
    report.position = position if position is not None else report.position
    if progress:
        progress(rows)


def _chunks(rows: Iterable[ImportRow | RowProblem]) -> Iterator[list[ImportRow]]:
    chunk: list[ImportRow] = []
    for row in rows:
        assert isinstance(row, ImportRow)
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
