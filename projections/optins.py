"""Read model of opt-in programs: current state per program and every disclosure version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.postgres.pool import Connection
from ledger.optin import OptIn, disclosure_sha256
from projections.projection import Envelope

_NAMES = [
    *("id", "name", "description", "purpose", "channels", "disclosure", "disclosure_version"),
    *("disclosure_sha256", "archived", "created_at", "updated_at", "version", "position"),
]
_COLUMNS = ", ".join(_NAMES)
# Built from the constant column list above, never from input.
_SELECT = f"SELECT {_COLUMNS} FROM optins WHERE id = ANY($1)"  # noqa: S608
_PLACEHOLDERS = ", ".join(f"${i}" for i in range(1, len(_NAMES) + 1))
_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c in _NAMES[1:])
_UPSERT = (
    f"INSERT INTO optins ({_COLUMNS}) VALUES ({_PLACEHOLDERS}) ON CONFLICT (id) DO UPDATE SET {_UPDATES}"  # noqa: S608
)


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
        return tuple(getattr(self, name) for name in self.__slots__)


class OptInsProjection:
    """Folds `optin.*` events into one row per program."""

    name = "optins"
    tables: tuple[str, ...] = ("optins", "optin_disclosures")
    topics: frozenset[str] = frozenset(
        c.TOPIC
        for c in (
            OptIn.Created,
            OptIn.Renamed,
            OptIn.Described,
            OptIn.ChannelsSet,
            OptIn.DisclosureChanged,
            OptIn.Archived,
        )
    )

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        ids = list({e.event.originator_id for e in batch})
        rows = {r["id"]: _Row(**dict(r)) for r in await conn.fetch(_SELECT, ids)}
        disclosures: list[tuple[UUID, int, str, str, datetime]] = []
        for envelope in batch:
            row = _fold(rows, envelope)
            if isinstance(envelope.event, OptIn.Created | OptIn.DisclosureChanged):
                disclosures.append(
                    (
                        row.id,
                        row.disclosure_version,
                        row.disclosure,
                        row.disclosure_sha256,
                        envelope.recorded_at,
                    )
                )
        await conn.executemany(
            _UPSERT,
            [row.values() for row in rows.values()],
        )
        if disclosures:
            await conn.executemany(
                "INSERT INTO optin_disclosures VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                disclosures,
            )


def _fold(rows: dict[UUID, _Row], envelope: Envelope) -> _Row:
    event = envelope.event
    if isinstance(event, OptIn.Created):
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
    match event:
        case OptIn.Renamed():
            row.name = event.name
        case OptIn.Described():
            row.description = event.description
        case OptIn.ChannelsSet():
            row.channels = list(event.channels)
        case OptIn.DisclosureChanged():
            row.disclosure = event.disclosure
            row.disclosure_version = event.version
            row.disclosure_sha256 = disclosure_sha256(event.disclosure)
        case OptIn.Archived():
            row.archived = True
    row.updated_at = event.timestamp
    row.version = event.originator_version
    row.position = envelope.position
    return row
