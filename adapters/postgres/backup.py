"""Logical backup and verified restore of the ledger, its key tables and staff credentials.

A backup is gzipped NDJSON: a header (position and hash of the chain head, KEK fingerprint),
every event, then the rows of the tables that are not derived from events. It is taken in one
REPEATABLE READ snapshot, so keys and events agree. Read models are not in it: a restore rebuilds
them. A restore refuses a file whose chain does not verify, or a database that already holds a
ledger, before it writes anything.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from adapters.postgres.pool import Connection
from ledger.chain import ChainRecord, first_break

FORMAT = "optin-ledger-backup"
# Tables that hold state no event can rebuild; everything else is a projection.
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "contact_keys": (("contact_id", "uuid"), ("wrapped", "bytea"), ("kek_id", "text"), ("created_at", "ts")),
    "contact_lookup": (("blind_index", "bytea"), ("contact_id", "uuid"), ("created_at", "ts")),
    "user_logins": (("email_index", "bytea"), ("user_id", "uuid")),
    "user_credentials": (("user_id", "uuid"), ("password_hash", "text"), ("changed_at", "ts")),
    "staff_emails": (("user_id", "uuid"), ("sealed", "bytea")),
}
_EVENT_COLUMNS = (
    "notification_id",
    "originator_id",
    "originator_version",
    "topic",
    "state",
    "recorded_at",
    "hash",
)

_SELECT_EVENTS = f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events ORDER BY notification_id"  # noqa: S608

Progress = Callable[[int, int], None]


class BackupError(RuntimeError):
    """The backup file or the target database is not fit for a restore; nothing was written."""


@dataclass(frozen=True, slots=True)
class BackupHeader:
    position: int
    head_hash: str
    created_at: str
    counts: dict[str, int]


def _encode(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "bytea":
        return base64.b64encode(bytes(value)).decode()
    if kind in ("uuid", "ts"):
        return str(value) if kind == "uuid" else value.isoformat()
    return value


def _decode(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "bytea":
        return base64.b64decode(value)
    if kind == "uuid":
        return UUID(value)
    if kind == "ts":
        return datetime.fromisoformat(value)
    return value


async def write_backup(pool: asyncpg.Pool, path: Path, progress: Progress | None = None) -> BackupHeader:
    encoder = msgspec.json.Encoder()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        head = await conn.fetchrow("SELECT position, hash FROM ledger_head")
        assert head is not None
        counts = {t: int(await conn.fetchval(f'SELECT count(*) FROM "{t}"')) for t in TABLES}  # noqa: S608
        header = BackupHeader(
            head["position"], bytes(head["hash"]).hex(), datetime.now().astimezone().isoformat(), counts
        )
        with _owner_only(path) as raw, gzip.GzipFile(fileobj=raw, mode="wb") as out:
            out.write(encoder.encode(_header_line(header)) + b"\n")
            done = 0
            async for r in conn.cursor(_SELECT_EVENTS):
                out.write(encoder.encode(_event_line(r)) + b"\n")
                done += 1
                if progress and done % 5000 == 0:
                    progress(done, header.position)
            for table, columns in TABLES.items():
                names = ", ".join(c for c, _ in columns)
                async for r in conn.cursor(f'SELECT {names} FROM "{table}"'):  # noqa: S608
                    row = {c: _encode(r[c], kind) for c, kind in columns}
                    out.write(encoder.encode({"kind": "row", "table": table, "row": row}) + b"\n")
    if progress:
        progress(header.position, header.position)
    return header


@contextlib.contextmanager
def _owner_only(path: Path) -> Iterator[io.BufferedWriter]:
    """A new file readable by its owner only from its first byte (it holds password hashes and
    wrapped keys): created 0600 beside `path`, renamed over it once complete, removed on failure."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            yield raw
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _header_line(header: BackupHeader) -> dict[str, Any]:
    return {
        "kind": "header",
        "format": FORMAT,
        "version": 1,
        "position": header.position,
        "head_hash": header.head_hash,
        "created_at": header.created_at,
        "counts": header.counts,
    }


def _event_line(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "kind": "event",
        "n": r[0],
        "id": str(r[1]),
        "v": r[2],
        "topic": r[3],
        "state": base64.b64encode(bytes(r[4])).decode(),
        "at": r[5].isoformat(),
        "hash": bytes(r[6]).hex(),
    }


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    decoder = msgspec.json.Decoder()
    try:
        with gzip.open(path, "rb") as source:
            for line in source:
                yield decoder.decode(line)
    except (OSError, EOFError, msgspec.DecodeError) as e:
        raise BackupError(f"{path} is not a readable backup: {e}") from e


def _event(line: dict[str, Any]) -> tuple[int, UUID, int, str, bytes, datetime, bytes]:
    return (
        int(line["n"]),
        UUID(line["id"]),
        int(line["v"]),
        str(line["topic"]),
        base64.b64decode(line["state"]),
        datetime.fromisoformat(line["at"]),
        bytes.fromhex(line["hash"]),
    )


def read_header(path: Path) -> BackupHeader:
    first = next(_lines(path), None)
    if not first or first.get("kind") != "header" or first.get("format") != FORMAT:
        raise BackupError(f"{path} is not an {FORMAT} file")
    return BackupHeader(
        int(first["position"]), str(first["head_hash"]), str(first["created_at"]), dict(first["counts"])
    )


def verify_backup(path: Path) -> BackupHeader:
    """Recompute the chain over the file's events; check it ends at the header's head."""
    header = read_header(path)
    events = [_event(line) for line in _lines(path) if line.get("kind") == "event"]
    broken = first_break((ChainRecord(*e[:6]), e[6]) for e in events)
    if broken is not None:
        raise BackupError(f"the chain breaks at position {broken.notification_id}: {broken.reason}")
    last = (events[-1][0], events[-1][6].hex()) if events else (0, "00" * 32)
    if last != (header.position, header.head_hash):
        raise BackupError("the events do not end at the head the header names (a truncated file?)")
    return header


async def load_backup(conn: Connection, path: Path, progress: Progress | None = None) -> BackupHeader:
    """Write a verified backup into an empty, migrated ledger, in one transaction."""
    header = verify_backup(path)
    async with conn.transaction():
        existing = await conn.fetchval("SELECT position FROM ledger_head FOR UPDATE")
        if existing:
            raise BackupError(
                f"the target already holds a ledger ({existing} events): restore into an empty one"
            )
        batch: list[tuple[Any, ...]] = []
        rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
        done = 0
        for line in _lines(path):
            if line.get("kind") == "event":
                batch.append(_event(line))
                if len(batch) >= 5000:
                    await conn.copy_records_to_table("events", records=batch, columns=_EVENT_COLUMNS)
                    done += len(batch)
                    batch = []
                    if progress:
                        progress(done, header.position)
            elif line.get("kind") == "row" and line.get("table") in TABLES:
                columns = TABLES[line["table"]]
                rows[line["table"]].append(tuple(_decode(line["row"][c], kind) for c, kind in columns))
        if batch:
            await conn.copy_records_to_table("events", records=batch, columns=_EVENT_COLUMNS)
        await conn.execute(
            "UPDATE ledger_head SET position = $1, hash = $2",
            header.position,
            bytes.fromhex(header.head_hash),
        )
        for table, records in rows.items():
            if records:
                await conn.copy_records_to_table(
                    table, records=records, columns=[c for c, _ in TABLES[table]]
                )
    if progress:
        progress(header.position, header.position)
    return header
