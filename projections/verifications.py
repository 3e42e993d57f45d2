"""Read model: every verification code and where it stands (open, confirmed, locked, expired)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from adapters.postgres.pool import Connection
from ledger.contact import Contact
from ledger.verification import Verification
from projections.projection import Envelope

_STATUS = {
    Verification.Confirmed: "confirmed",
    Verification.Locked: "locked",
    Verification.Expired: "expired",
}


class VerificationsProjection:
    name = "verifications"
    tables: tuple[str, ...] = ("verifications",)
    topics: frozenset[str] = frozenset(
        {
            Verification.Created.TOPIC,
            Verification.Confirmed.TOPIC,
            Verification.Failed.TOPIC,
            Verification.Locked.TOPIC,
            Verification.Expired.TOPIC,
            Contact.Erased.TOPIC,
        }
    )

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        changes = _Changes()
        for envelope in batch:
            changes.add(envelope)
        await changes.write(conn)


_INSERT = (
    "INSERT INTO verifications VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
    "ON CONFLICT (id) DO NOTHING"
)
_UPDATE = (
    "UPDATE verifications v SET failures = coalesce(u.failures, v.failures), "
    "status = coalesce(u.status, v.status), "
    "decided_at = CASE WHEN u.status IS NULL THEN v.decided_at ELSE u.decided_at END, position = u.position "
    "FROM unnest($1::uuid[], $2::int[], $3::text[], $4::timestamptz[], $5::bigint[]) "
    "AS u(id, failures, status, decided_at, position) WHERE v.id = u.id AND v.position < u.position"
)
_STATE, _FAILURES, _DECIDED, _POSITION = 5, 6, 9, 10  # columns of a row as inserted


class _Changes:
    """A batch's changes to the verifications, netted in memory and written in a few statements.

    Written as the erasures' deletes, then the codes issued in the batch (as they stand at its
    end: their failures and decisions folded into the row), then one update of the codes issued
    before it, which gives what applying the events one by one gives: a code is issued once and
    every later event of it follows; an erasure deletes its contact's codes in the database and
    drops those issued earlier in the batch; an update reaches a row only if it was there at the
    update's position (`v.position < u.position`: a code issued later has its own position).
    """

    def __init__(self) -> None:
        self.issued: dict[UUID, list[Any]] = {}
        self.updates: dict[UUID, list[Any]] = {}  # id, failures, status, decided_at, position
        self.erased: set[UUID] = set()

    def add(self, envelope: Envelope) -> None:
        event, position = envelope.event, envelope.position
        if isinstance(event, Verification.Created):
            self.issued.setdefault(event.originator_id, [
                event.originator_id, event.contact_id, event.channel, event.optin_id, event.action,
                "open", 0, event.timestamp, event.expires_at, None, position,
            ])  # fmt: skip
        elif isinstance(event, Contact.Erased):
            self.erased.add(event.originator_id)
            for code in [r[0] for r in self.issued.values() if r[1] == event.originator_id]:
                del self.issued[code]
        elif (row := self.issued.get(event.originator_id)) is not None:
            if isinstance(event, Verification.Failed):
                row[_FAILURES] = event.attempt
            else:
                row[_STATE], row[_DECIDED] = _STATUS[type(event)], event.at
            row[_POSITION] = position
        else:
            update = self.updates.setdefault(event.originator_id, [event.originator_id, None, None, None, 0])
            if isinstance(event, Verification.Failed):
                update[1] = event.attempt
            else:
                update[2:4] = [_STATUS[type(event)], event.at]
            update[4] = position

    async def write(self, conn: Connection) -> None:
        if self.erased:
            await conn.execute(
                "DELETE FROM verifications WHERE contact_id = ANY($1::uuid[])", list(self.erased)
            )
        if self.issued:
            await conn.executemany(_INSERT, list(self.issued.values()))
        if self.updates:
            await conn.execute(_UPDATE, *map(list, zip(*self.updates.values(), strict=True)))


async def latest_open_self_service(
    conn: asyncpg.Pool | Connection, contact_id: UUID, now: datetime
) -> UUID | None:
    """The newest open code a contact asked for themselves (no program attached)."""
    found: UUID | None = await conn.fetchval(
        "SELECT id FROM verifications WHERE contact_id = $1 AND optin_id IS NULL "
        "AND status = 'open' AND expires_at > $2 ORDER BY issued_at DESC LIMIT 1",
        contact_id,
        now,
    )
    return found


async def stale(conn: asyncpg.Pool | Connection, now: datetime, limit: int) -> list[UUID]:
    """Open codes past their expiry, oldest first (for retention to close)."""
    rows = await conn.fetch(
        "SELECT id FROM verifications WHERE status = 'open' AND expires_at <= $1 "
        "ORDER BY expires_at LIMIT $2",
        now,
        limit,
    )
    return [r["id"] for r in rows]


async def latest_confirmed(conn: asyncpg.Pool | Connection, contact_id: UUID) -> UUID | None:
    """The newest confirmed code of a contact: the proof a contact session rests on."""
    found: UUID | None = await conn.fetchval(
        "SELECT id FROM verifications WHERE contact_id = $1 AND status = 'confirmed' "
        "ORDER BY decided_at DESC LIMIT 1",
        contact_id,
    )
    return found


class PostgresVerificationLookup:
    """`ledger.ports.VerificationLookup` on the verifications read model."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def latest_open_self_service(self, contact_id: UUID, now: datetime) -> UUID | None:
        return await latest_open_self_service(self._pool, contact_id, now)

    async def latest_confirmed(self, contact_id: UUID) -> UUID | None:
        return await latest_confirmed(self._pool, contact_id)
