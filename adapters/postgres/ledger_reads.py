"""Reads of recorded events by position and by several streams at once (for evidence bundles)."""

from __future__ import annotations

from collections.abc import Collection
from typing import TypeAlias
from uuid import UUID

import asyncpg

from adapters.postgres.pool import Connection
from ledger.ports import RecordedEvent

Db: TypeAlias = "asyncpg.Pool | Connection"
_COLUMNS = "notification_id, originator_id, originator_version, topic, state, recorded_at, hash"


async def events_at(db: Db, positions: Collection[int]) -> list[RecordedEvent]:
    """The events at those positions, in ledger order."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE notification_id = ANY($1::bigint[]) "  # noqa: S608
        "ORDER BY notification_id",
        list(positions),
    )
    return [RecordedEvent(*r) for r in rows]


async def streams(db: Db, originator_ids: Collection[UUID]) -> list[RecordedEvent]:
    """Every event of those streams, in ledger order."""
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE originator_id = ANY($1::uuid[]) "  # noqa: S608
        "ORDER BY notification_id",
        list(originator_ids),
    )
    return [RecordedEvent(*r) for r in rows]
