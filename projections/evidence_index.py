"""Read model: which ledger positions bear on each contact, for assembling their evidence.

Ids and positions only (no personal data), and kept after erasure, unlike the timeline: an
erased contact's evidence must still be assembled and verified, with the personal fields shown
as erased (their key is gone).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from adapters.postgres.pool import Connection
from ledger.channel_optout import ChannelOptOut
from ledger.consent import Consent
from ledger.contact import Contact
from ledger.evidence import EvidenceExport
from ledger.message import Message
from ledger.verification import Verification
from projections.projection import Envelope
from projections.timeline import contact_of

EVIDENCE_EVENTS = (
    Contact.Created,
    Contact.Erased,
    Consent.Created,
    Consent.Requested,
    Consent.Granted,
    Consent.Withdrawn,
    Consent.Lapsed,
    Verification.Created,
    Verification.Confirmed,
    Verification.Failed,
    Verification.Locked,
    Verification.Expired,
    ChannelOptOut.Created,
    ChannelOptOut.OptedOut,
    ChannelOptOut.Resubscribed,
    Message.Created,
    Message.Queued,
    Message.Blocked,
    Message.Diverted,
    Message.Sent,
    Message.Failed,
    Message.DeadLettered,
    Message.Cancelled,
    Message.Delivered,
    Message.Undelivered,
    EvidenceExport.Created,
)


class EvidenceIndexProjection:
    name = "evidence_index"
    tables: tuple[str, ...] = ("evidence_index",)
    topics: frozenset[str] = frozenset(c.TOPIC for c in EVIDENCE_EVENTS)

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        rows = [(c, e.position) for e in batch if (c := contact_of(e.event)) is not None]
        if rows:
            await conn.executemany(
                "INSERT INTO evidence_index (contact_id, position) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                rows,
            )


async def positions_of(db: asyncpg.Pool | Connection, contact_id: UUID) -> list[int]:
    rows = await db.fetch(
        "SELECT position FROM evidence_index WHERE contact_id = $1 ORDER BY position", contact_id
    )
    return [r[0] for r in rows]
