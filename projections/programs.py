"""Read model of opt-in programs: current state per program and every disclosure version.

Live, each batch reads the rows it touches, folds, and upserts them. A rebuild folds every
program in memory (a program is one small row, and there are few) and writes the disclosures of
each batch while the next one folds, then every program row once, at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from adapters.postgres.pool import Connection
from ledger.program import Program, disclosure_sha256
from projections.projection import Envelope, Write

_NAMES = [
    *("id", "name", "description", "purpose", "channels", "disclosure", "disclosure_version"),
    *("disclosure_sha256", "archived", "created_at", "updated_at", "version", "position"),
]
_COLUMNS = ", ".join(_NAMES)
# Built from the constant column list above, never from input.
_SELECT = f"SELECT {_COLUMNS} FROM optins WHERE id = ANY($1)"  # noqa: S608
_TYPES = [
    *("uuid", "text", "text", "text", "text", "text", "int", "text", "bool"),
    *("timestamptz", "timestamptz", "bigint", "bigint"),
]
_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c in _NAMES[1:])


# One statement per batch: a column array each; channels travel as comma-joined text.
_UPSERT = (
    f"INSERT INTO optins ({_COLUMNS}) SELECT "  # noqa: S608 (built from the constant lists above)
    + ", ".join("string_to_array(channels, ',')" if c == "channels" else c for c in _NAMES)
    + " FROM unnest("
    + ", ".join(f"${i}::{t}[]" for i, t in enumerate(_TYPES, 1))
    + f") AS u({_COLUMNS}) ON CONFLICT (id) DO UPDATE SET {_UPDATES}"
)
_INSERT_DISCLOSURES = (
    "INSERT INTO optin_disclosures SELECT * FROM unnest("
    "$1::uuid[], $2::int[], $3::text[], $4::text[], $5::timestamptz[]) ON CONFLICT DO NOTHING"
)

Disclosure = tuple[UUID, int, str, str, datetime]


@dataclass(slots=True)
class _Row:
    id: UUID
    name: str
    description: str
    purpose: str
    channels: list[str]
    disclosure: str
    disclosure_version: int
    disclosure_sha256: str
    archived: bool
    created_at: datetime
    updated_at: datetime
    version: int
    position: int

    def values(self) -> tuple[Any, ...]:
        """The row in `_NAMES` order, channels as comma-joined text (spelled out: called once
        per program per batch)."""
        return (
            *(self.id, self.name, self.description, self.purpose, ",".join(self.channels)),
            *(self.disclosure, self.disclosure_version, self.disclosure_sha256, self.archived),
            *(self.created_at, self.updated_at, self.version, self.position),
        )

    def record(self) -> tuple[Any, ...]:
        """The row in `_NAMES` order, as COPY takes it."""
        return (
            *(self.id, self.name, self.description, self.purpose, self.channels),
            *(self.disclosure, self.disclosure_version, self.disclosure_sha256, self.archived),
            *(self.created_at, self.updated_at, self.version, self.position),
        )


class ProgramsProjection:
    """Folds `optin.*` events into one row per program."""

    name = "optins"
    tables: tuple[str, ...] = ("optins", "optin_disclosures")
    topics: frozenset[str] = frozenset(
        c.TOPIC
        for c in (
            Program.Created,
            Program.Renamed,
            Program.Described,
            Program.ChannelsSet,
            Program.DisclosureChanged,
            Program.Archived,
        )
    )

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        ids = list({e.event.originator_id for e in batch})
        rows = {r["id"]: _Row(**dict(r)) for r in await conn.fetch(_SELECT, ids)}
        disclosures = _fold_batch(rows, batch)
        await conn.execute(_UPSERT, *_columns([row.values() for row in rows.values()]))
        if disclosures:
            await conn.execute(_INSERT_DISCLOSURES, *_columns(disclosures))

    def rebuilder(self, tables: Mapping[str, str]) -> ProgramsRebuild:
        return ProgramsRebuild(tables["optins"], tables["optin_disclosures"])


class ProgramsRebuild:
    """Every program folded in memory from position 0; see the module docstring. Writes with
    COPY (twice as fast as the live path's INSERT from arrays): the tables start empty, and a
    disclosure version seen twice is kept once, as the live path's ON CONFLICT DO NOTHING does."""

    def __init__(self, optins: str, disclosures: str) -> None:
        self._optins, self._disclosures = optins, disclosures
        self._rows: dict[UUID, _Row] = {}
        self._versions: set[tuple[UUID, int]] = set()

    def fold(self, batch: Sequence[Envelope]) -> Write | None:
        disclosures = []
        for disclosure in _fold_batch(self._rows, batch):
            if (key := disclosure[:2]) not in self._versions:
                self._versions.add(key)
                disclosures.append(disclosure)
        return _copying(self._disclosures, None, disclosures) if disclosures else None

    def finish(self) -> Write | None:
        records = [row.record() for row in self._rows.values()]
        return _copying(self._optins, _NAMES, records) if records else None


def _copying(table: str, columns: list[str] | None, records: list[tuple[Any, ...]]) -> Write:
    """COPY `records` (already taken out of the fold) into `table`."""

    async def write(conn: Connection) -> None:
        await conn.copy_records_to_table(table, records=records, columns=columns)

    return write


def _fold_batch(rows: dict[UUID, _Row], batch: Sequence[Envelope]) -> list[Disclosure]:
    """Fold `batch` into `rows`; return the disclosure versions it published."""
    disclosures: list[Disclosure] = []
    for envelope in batch:
        row = _fold(rows, envelope)
        if type(envelope.event) in _PUBLISHING:
            disclosures.append(
                (row.id, row.disclosure_version, row.disclosure, row.disclosure_sha256, envelope.recorded_at)
            )
    return disclosures


def _columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows to one list per column, the shape `unnest($1::t[], …)` takes."""
    return [list(column) for column in zip(*rows, strict=True)]


_PUBLISHING = frozenset({Program.Created, Program.DisclosureChanged})


def _fold(rows: dict[UUID, _Row], envelope: Envelope) -> _Row:
    # By exact class (a topic decodes to exactly one): `isinstance` and class patterns go
    # through the event classes' ABC machinery, a fifth of a rebuild's Python time.
    event = envelope.event
    kind = type(event)
    if kind is Program.Created:
        row = _Row(
            id=event.originator_id,
            name=event.name,
            description=event.description,
            purpose=event.purpose,
            channels=list(event.channels),
            disclosure=event.disclosure,
            disclosure_version=1,
            disclosure_sha256=disclosure_sha256(event.disclosure),
            archived=False,
            created_at=event.timestamp,
            updated_at=event.timestamp,
            version=event.originator_version,
            position=envelope.position,
        )
        rows[row.id] = row
        return row
    row = rows[event.originator_id]
    if kind is Program.Renamed:
        row.name = event.name
    elif kind is Program.Described:
        row.description = event.description
    elif kind is Program.ChannelsSet:
        row.channels = list(event.channels)
    elif kind is Program.DisclosureChanged:
        row.disclosure = event.disclosure
        row.disclosure_version = event.version
        row.disclosure_sha256 = disclosure_sha256(event.disclosure)
    elif kind is Program.Archived:
        row.archived = True
    row.updated_at = event.timestamp
    row.version = event.originator_version
    row.position = envelope.position
    return row


class ProgramRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    description: str
    purpose: str
    channels: list[str]
    disclosure: str
    disclosure_version: int
    disclosure_sha256: str
    archived: bool
    created_at: datetime
    updated_at: datetime


_PROGRAM = (
    "SELECT id, name, description, purpose, channels, disclosure, disclosure_version, "
    "disclosure_sha256, archived, created_at, updated_at FROM optins"
)


async def list_programs(conn: asyncpg.Pool | Connection, *, include_archived: bool) -> list[ProgramRow]:
    rows = await conn.fetch(_PROGRAM + " WHERE $1 OR NOT archived ORDER BY lower(name), id", include_archived)
    return [ProgramRow(**dict(r)) for r in rows]


async def get_program(conn: asyncpg.Pool | Connection, optin_id: UUID) -> ProgramRow | None:
    row = await conn.fetchrow(_PROGRAM + " WHERE id = $1", optin_id)
    return ProgramRow(**dict(row)) if row else None


async def disclosure_text(conn: asyncpg.Pool | Connection, optin_id: UUID, version: int) -> str | None:
    """The disclosure text of one version exactly as it was published (what evidence names)."""
    text: str | None = await conn.fetchval(
        "SELECT text FROM optin_disclosures WHERE optin_id = $1 AND version = $2", optin_id, version
    )
    return text


class DisclosureVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One version of a program's disclosure text, exactly as published, and when it was in force."""

    version: int
    text: str
    sha256: str
    published_at: datetime
    """From when contacts were shown this text."""
    replaced_at: datetime | None
    """When the next version replaced it (None: the current text)."""


async def disclosure_history(conn: asyncpg.Pool | Connection, optin_id: UUID) -> list[DisclosureVersion]:
    """Every disclosure version of the program, oldest first."""
    rows = await conn.fetch(
        "SELECT version, text, sha256, created_at, "
        "lead(created_at) OVER (ORDER BY version) AS replaced_at "
        "FROM optin_disclosures WHERE optin_id = $1 ORDER BY version",
        optin_id,
    )
    return [
        DisclosureVersion(
            version=r["version"],
            text=r["text"],
            sha256=r["sha256"],
            published_at=r["created_at"],
            replaced_at=r["replaced_at"],
        )
        for r in rows
    ]
