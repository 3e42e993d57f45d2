"""Read model: every event of each contact, in ledger order, with its non-personal details.

Sealed fields (ciphertext) are not copied; the API masks or opens them only where allowed. When
a contact is erased, its whole timeline is purged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from adapters.postgres.pool import Connection
from ledger.contact import Contact
from projections.projection import Envelope

# `sealed`: a message's sealed body and variables (ciphertext, like the bytes fields skipped below).
_SKIP = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic", "actor", "sealed"})


def contact_of(event: Any) -> UUID | None:
    """The contact an event is about: its own stream for contact events, else its `contact_id`."""
    if isinstance(event, Contact.Created | Contact.Erased):
        return UUID(str(event.originator_id))
    contact_id = getattr(event, "contact_id", None)
    return contact_id if isinstance(contact_id, UUID) else None


def details(event: Any) -> dict[str, Any]:
    """The event's own fields, minus bookkeeping and ciphertext, as JSON-ready values."""
    fields = {k: v for k, v in vars(event).items() if k not in _SKIP and not isinstance(v, bytes | bytearray)}
    result: dict[str, Any] = msgspec.to_builtins(fields)
    return result


class TimelineProjection:
    name = "timeline"
    tables: tuple[str, ...] = ("contact_timeline",)

    def __init__(self, event_classes: Iterable[type[Any]]) -> None:
        self.topics: frozenset[str] = frozenset(c.TOPIC for c in event_classes)

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        rows: list[tuple[Any, ...]] = []
        for envelope in batch:
            contact_id = contact_of(envelope.event)
            if contact_id is None:
                continue
            if isinstance(envelope.event, Contact.Erased):
                await _insert(conn, rows)
                rows = []
                await conn.execute("DELETE FROM contact_timeline WHERE contact_id = $1", contact_id)
                continue
            actor = msgspec.json.encode(getattr(envelope.event, "actor", None)).decode()
            rows.append(
                (
                    contact_id,
                    envelope.position,
                    envelope.topic,
                    envelope.recorded_at,
                    actor,
                    msgspec.json.encode(details(envelope.event)).decode(),
                )
            )
        await _insert(conn, rows)


async def _insert(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        await conn.executemany(
            "INSERT INTO contact_timeline VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb) "
            "ON CONFLICT DO NOTHING",
            rows,
        )


class TimelineEntry(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    topic: str
    occurred_at: datetime
    actor: dict[str, Any] | None
    details: dict[str, Any]


async def timeline(
    conn: asyncpg.Pool | Connection, contact_id: UUID, *, after: int, limit: int
) -> list[TimelineEntry]:
    rows = await conn.fetch(
        "SELECT position, topic, occurred_at, actor, details FROM contact_timeline "
        "WHERE contact_id = $1 AND position > $2 ORDER BY position LIMIT $3",
        contact_id,
        after,
        limit,
    )
    return [
        TimelineEntry(
            position=r["position"],
            topic=r["topic"],
            occurred_at=r["occurred_at"],
            actor=msgspec.json.decode(r["actor"]),
            details=msgspec.json.decode(r["details"]),
        )
        for r in rows
    ]
