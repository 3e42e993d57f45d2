"""Read model of revocation reviews: the console's queue of doubtful replies, with deadlines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from adapters.postgres.pool import Connection
from adapters.postgres.replica import ReadDatabase
from ledger.contact import Contact
from ledger.revocation_review import RevocationReview
from projections.projection import Envelope


class RevocationReviewsProjection:
    name = "revocation_reviews"
    tables: tuple[str, ...] = ("revocation_reviews",)
    topics: frozenset[str] = frozenset(
        c.TOPIC
        for c in (
            RevocationReview.Created,
            RevocationReview.Confirmed,
            RevocationReview.Dismissed,
            Contact.Erased,
        )
    )

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        for envelope in batch:
            event, at = envelope.event, envelope.recorded_at
            if isinstance(event, RevocationReview.Created):
                await conn.execute(
                    "INSERT INTO revocation_reviews (id, contact_id, channel, matched, language, "
                    "received_at, due_at, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                    "ON CONFLICT DO NOTHING",
                    event.originator_id, event.contact_id, event.channel, event.matched, event.language,
                    event.received_at, event.due_at, envelope.position,
                )  # fmt: skip
            elif isinstance(event, RevocationReview.Confirmed | RevocationReview.Dismissed):
                status = "confirmed" if isinstance(event, RevocationReview.Confirmed) else "dismissed"
                await conn.execute(
                    "UPDATE revocation_reviews SET status = $2, decided_at = $3, decided_by = $4::jsonb, "
                    "position = $5 WHERE id = $1",
                    event.originator_id, status, at, msgspec.json.encode(event.actor).decode(),
                    envelope.position,
                )  # fmt: skip
            elif isinstance(event, Contact.Erased):
                await conn.execute(
                    "DELETE FROM revocation_reviews WHERE contact_id = $1", event.originator_id
                )


class ReviewRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    contact_id: UUID
    masked_address: str | None
    matched: str | None
    language: str | None
    received_at: datetime
    due_at: datetime
    status: str


async def open_reviews(pool: ReadDatabase, limit: int = 200) -> list[ReviewRow]:
    """Open reviews, the most urgent first, with the contact's masked address."""
    rows = await pool.fetch(
        "SELECT r.id, r.contact_id, c.masked_address, r.matched, r.language, r.received_at, r.due_at, "
        "r.status FROM revocation_reviews r LEFT JOIN contacts c ON c.id = r.contact_id "
        "WHERE r.status = 'open' ORDER BY r.due_at LIMIT $1",
        limit,
    )
    return [ReviewRow(**dict(r)) for r in rows]
