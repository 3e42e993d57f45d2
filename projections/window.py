"""The events new since the projections' last batches, read and decoded once for all of them.

Following the ledger, every projection needs the same few new events: read by each in its own
transaction, they were fetched and decoded once per projection that follows their topic, with a
round trip for the head each time. Here, once per round of the runner, one query reads the head
and the tracked positions, one the events after the lowest of them (those any projection
follows), and each is decoded once. Each projection then takes its events from the window, under
its lock and after reading its position in its own transaction as before: stored events never
change, and every one up to the head is committed (the head moves in the appending transaction),
so the window holds exactly what the projection would have read itself. A projection more than
a batch behind the head is left out of the window, and reads its own batches. Projections with
no event in the window on their topics only move their positions, all in one statement
(`ADVANCE_QUIET`), and those at the head already are left alone: under steady writes most of a
round's projections are one or the other, and each took a transaction of its own (an advisory
lock, a read, an update: five round trips) to move a number.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection
from dataclasses import dataclass, field

import asyncpg

from adapters.postgres.pool import Connection
from ledger.codec import LedgerMapper
from projections.projection import Envelope, lock_key

_POSITIONS = (
    "SELECT h.position, t.names, t.positions FROM ledger_head h, (SELECT array_agg(name) AS names, "
    "array_agg(position) AS positions FROM projection_tracking WHERE name = ANY($1::text[])) t"
)
EVENTS = (
    "SELECT notification_id, originator_id, originator_version, topic, state, recorded_at "
    "FROM events WHERE notification_id > $1 AND notification_id <= $2 "
    "AND topic = ANY($3::text[]) ORDER BY notification_id"
)


@dataclass(frozen=True, slots=True)
class Window:
    """The events after `after` up to `head` (of every topic a projection follows), decoded;
    `positions`, the projections' tracked positions read with the head."""

    after: int
    head: int
    envelopes: list[Envelope]
    positions: dict[str, int] = field(default_factory=dict)

    def quiet(self, name: str, topics: Collection[str]) -> bool | None:
        """Whether projection `name` has nothing to apply up to the head: True when the window
        holds no event on its `topics` after its position (only its position is to move),
        None when it is at the head already (nothing to do), False otherwise (events to apply,
        or a position unknown or before the window)."""
        position = self.positions.get(name)
        if position is None or position < self.after:
            return False
        if position >= self.head:
            return None
        return self.batch(position, topics) == []

    def batch(self, position: int, topics: Collection[str]) -> list[Envelope] | None:
        """The events on `topics` after `position` up to the head, None if the window starts
        later (the projection reads its own)."""
        if position < self.after:
            return None
        start = bisect.bisect_right(self.envelopes, position, key=lambda e: e.position)
        return [e for e in self.envelopes[start:] if e.topic in topics]


def decode(mapper: LedgerMapper, rows: list[asyncpg.Record]) -> list[Envelope]:
    """Rows read by `EVENTS` as projections take them."""
    decoded = mapper.decode
    return [Envelope(r[0], r[5], r[3], decoded(r[3], r[1], r[2], r[4])) for r in rows]


async def read_window(
    conn: asyncpg.Pool | Connection,
    names: list[str],
    topics: list[str],
    batch_size: int,
    mapper: LedgerMapper,
) -> Window | None:
    """The window for the projections `names` (following `topics` together), or None when
    every one of them is more than `batch_size` events behind the head."""
    row = await conn.fetchrow(_POSITIONS, names)
    assert row is not None
    head = int(row[0])
    tracked = dict(zip(row[1] or [], row[2] or [], strict=True))
    near = [p for p in (int(tracked.get(name, 0)) for name in names) if head - p <= batch_size]
    if not near:
        return None
    after = min(min(near), head)
    positions = {name: int(p) for name, p in tracked.items()}
    if after >= head:
        return Window(after, head, [], positions)
    return Window(after, head, decode(mapper, await conn.fetch(EVENTS, after, head, topics)), positions)


# Projections with nothing to apply up to `$2` move there together, each only if its position is
# still behind and its lock is free: a live runner elsewhere or a rebuild swapping in holds it,
# and then that projection waits for the next round. Moving from any position the window saw
# (or a later one) is right: the window holds no event of its topics after that one.
ADVANCE_QUIET = (
    "UPDATE projection_tracking SET position = $2 WHERE name = ANY($1::text[]) AND position < $2 "  # noqa: S608 (the lock key's SQL is a constant)
    f"AND pg_try_advisory_xact_lock({lock_key('name')})"
)
