"""Reads of recorded events by position and by several streams at once (for evidence bundles)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from functools import partial
from typing import TypeAlias, cast
from uuid import UUID

import asyncpg

from adapters.postgres.pool import Connection
from ledger.ports import RecordedEvent

Db: TypeAlias = "asyncpg.Pool | Connection"
_COLUMNS = "notification_id, originator_id, originator_version, topic, state, recorded_at, hash"
# A row of _COLUMNS as a RecordedEvent without a Python call per row (followers read thousands).
_as_recorded = cast(Callable[[asyncpg.Record], RecordedEvent], partial(tuple.__new__, RecordedEvent))


def recorded(rows: Iterable[asyncpg.Record]) -> list[RecordedEvent]:
    """Rows selecting `_COLUMNS` in that order, as RecordedEvents."""
    return list(map(_as_recorded, rows))


async def events_at(db: Db, positions: Collection[int]) -> list[RecordedEvent]:
    """The events at those positions, in ledger order."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE notification_id = ANY($1::bigint[]) "  # noqa: S608
        "ORDER BY notification_id",
        list(positions),
    )
    return recorded(rows)


async def streams(db: Db, originator_ids: Collection[UUID]) -> list[RecordedEvent]:
    """Every event of those streams, in ledger order."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE originator_id = ANY($1::uuid[]) "  # noqa: S608
        "ORDER BY notification_id",
        list(originator_ids),
    )
    return recorded(rows)
