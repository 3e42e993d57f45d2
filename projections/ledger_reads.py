"""Events read back inside a projection's transaction: the streams that bear on a decision, as
they stood at an event (everything at or before its position is committed and visible)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from adapters.postgres.pool import Connection
from ledger.codec import LedgerMapper

History = list[tuple[int, datetime, object]]


async def history(conn: Connection, mapper: LedgerMapper, streams: Sequence[UUID], upto: int) -> History:
    """`(position, recorded_at, event)` of `streams` up to `upto`, for `ledger.decision.decide_at`."""
    rows = await conn.fetch(
        "SELECT notification_id, originator_id, originator_version, topic, state, recorded_at "
        "FROM events WHERE originator_id = ANY($1::uuid[]) AND notification_id <= $2",
        list(streams),
        upto,
    )
    decode = mapper.decode
    return [
        (r[0], r[5], decode(r[3], r[1], r[2], r[4]))  # position, time, event
        for r in rows
    ]
