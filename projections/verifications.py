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
        created: list[tuple[Any, ...]] = []
        for envelope in batch:
            event = envelope.event
            if isinstance(event, Verification.Created):
                created.append(
                    (
                        event.originator_id,
                        event.contact_id,
                        event.channel,
                        event.optin_id,
                        event.action,
                        "open",
                        0,
                        event.timestamp,
                        event.expires_at,
                        None,
                        envelope.position,
                    )
                )
                continue
            await _insert(conn, created)
            created = []
            if isinstance(event, Contact.Erased):
                await conn.execute("DELETE FROM verifications WHERE contact_id = $1", event.originator_id)
            elif isinstance(event, Verification.Failed):
                await conn.execute(
                    "UPDATE verifications SET failures = $2, position = $3 WHERE id = $1",
                    event.originator_id,
                    event.attempt,
                    envelope.position,
                )
            else:
                await conn.execute(
                    "UPDATE verifications SET status = $2, decided_at = $3, position = $4 WHERE id = $1",
                    event.originator_id,
                    _STATUS[type(event)],
                    event.at,
                    envelope.position,
                )
        await _insert(conn, created)


async def _insert(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        await conn.executemany(
            "INSERT INTO verifications VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
            "ON CONFLICT (id) DO NOTHING",
            rows,
        )


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
