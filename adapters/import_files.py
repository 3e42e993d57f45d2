"""Running a consent import on a file: programs from the read model, two streaming passes.

The file is read twice, never held in memory: once to check every row (and take its SHA-256,
the import's id), then, only if every row is good, once more to apply it in chunks.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import asyncpg
import msgspec

from adapters.crypto.sealer import NaclSealer
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.import_store import PostgresImportStore
from ledger.address import Address
from ledger.consent_import import ConsentImport, Format, ImportReport, Progress, detect_format, rows_of
from ledger.errors import InvalidValueError
from ledger.import_rows import ImportRow, Resolve
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


_ROW = msgspec.msgpack.Encoder()
_ROW_FIELDS = msgspec.msgpack.Decoder(tuple[int, str, str, UUID, str, datetime, str, str])


class Spool:
    """Checked rows, written once by the first pass and read back by the second (a temporary
    file, removed on close: the file is never held in memory)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by `close`

    def keep(self, row: ImportRow) -> None:
        a = row.address
        frame = _ROW.encode(
            (row.line, a.channel, a.value, row.optin_id, row.status, row.when, row.source, row.evidence)
        )
        self._file.write(len(frame).to_bytes(4, "big") + frame)

    def rows(self) -> Iterator[ImportRow]:
        self._file.seek(0)
        read = self._file.read
        while header := read(4):
            line, channel, value, optin_id, status, when, source, evidence = _ROW_FIELDS.decode(
                read(int.from_bytes(header, "big"))
            )
            address = Address(channel, value)  # type: ignore[arg-type]
            yield ImportRow(line, address, optin_id, status, when, source, evidence)  # type: ignore[arg-type]

    def close(self) -> None:
        self._file.close()


def _lines(path: Path, digest: hashlib._Hash | None = None) -> Iterator[str]:
    with path.open("rb") as f:
        for raw in f:
            if digest is not None:
                digest.update(raw)
            yield raw.decode("utf-8", errors="replace")


async def import_file(
    pool: asyncpg.Pool,
    store: PostgresEventStore,
    kek: bytes,
    index_key: bytes,
    path: Path,
    actor: Actor,
    *,
    dry_run: bool,
    region: str = "US",
    name: str | None = None,
    progress: Callable[[str, int | None], Progress] | None = None,
) -> ImportReport:
    """Check, then (unless a dry run or any row is bad) apply. `progress(phase, total)` gives a callback."""
    with path.open("rb") as f:
        first = f.readline().decode("utf-8", errors="replace")
    fmt: Format = detect_format((name or path.name).lower(), first)
    resolve = await program_resolver(pool)
    now = datetime.now(UTC)
    report = ImportReport(format=fmt)
    importer = ConsentImport(store, PostgresImportStore(pool, kek), NaclSealer(index_key), actor)
    digest = hashlib.sha256()
    spool = Spool()
    try:
        importer.validate(
            rows_of(_lines(path, digest), fmt, resolve, now, region),
            report,
            progress and progress("checking", None),
            keep=spool.keep,
        )
        if report.valid and report.rows:
            await importer.apply(
                spool.rows(),
                digest.digest(),
                report,
                dry_run=dry_run,
                progress=progress and progress("applying" if not dry_run else "dry run", report.rows),
            )
    finally:
        spool.close()
    return report
