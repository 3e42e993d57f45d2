"""The dev outbox: what would be sent (codes for now), body sealed with the contact's key.

Tests and the demo read it (`optin-ledger outbox`); the code is never logged. Rows go with the
contact when it is erased.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from adapters.postgres.pool import Connection
from ledger.contact import Contact
from ledger.verification import Verification
from projections.projection import Envelope


class OutboxProjection:
    name = "outbox"
    tables: tuple[str, ...] = ("outbox",)
    topics: frozenset[str] = frozenset({Verification.Created.TOPIC, Contact.Erased.TOPIC})

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        rows: list[tuple[UUID, UUID, str, str, bytes, datetime, int]] = []
        for envelope in batch:
            event = envelope.event
            if isinstance(event, Verification.Created):
                rows.append(
                    (
                        event.originator_id,
                        event.contact_id,
                        event.channel,
                        "verification_code",
                        event.sealed_code,
                        envelope.recorded_at,
                        envelope.position,
                    )
                )
            else:
                await _insert(conn, rows)
                rows = []
                await conn.execute("DELETE FROM outbox WHERE contact_id = $1", event.originator_id)
        await _insert(conn, rows)


async def _insert(conn: Connection, rows: list[tuple[UUID, UUID, str, str, bytes, datetime, int]]) -> None:
    if rows:
        await conn.executemany(
            "INSERT INTO outbox VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING", rows
        )


async def sealed_messages(
    conn: asyncpg.Pool | Connection, contact_id: UUID | None = None, limit: int = 50
) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, contact_id, channel, kind, sealed_body, created_at FROM outbox "
        "WHERE $1::uuid IS NULL OR contact_id = $1 ORDER BY created_at DESC LIMIT $2",
        contact_id,
        limit,
    )
