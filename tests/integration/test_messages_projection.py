"""The messages read model, applied batch by batch as the runner applies it: a message's
timeline rows go in together, and an erasure in the same batch still removes every one of its
contact's rows (those written earlier in the batch too), while other contacts' stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import pytest

from ledger.contact import Contact, register_contact
from ledger.message import Message, request_message
from ledger.vocabulary import SYSTEM
from projections.messages import MessagesProjection
from projections.projection import Envelope

pytestmark = pytest.mark.integration


def blocked_message(contact_id: UUID) -> list[object]:
    message: Message = request_message(
        uuid.uuid4(),
        contact_id=contact_id,
        channel="email",
        kind="promotional",
        purpose="marketing",
        optin_id=uuid.uuid4(),
        idempotency_key=None,
        actor=SYSTEM,
    )
    message.block("no_consent", None)
    return list(message.collect_events())


def erasure(contact_id: UUID) -> object:
    contact: Contact = register_contact(contact_id, channel="email", sealed_address=b"x", actor=SYSTEM)
    contact.collect_events()
    contact.erase(SYSTEM)
    return contact.collect_events()[0]


def envelopes(events: list[object], start: int) -> list[Envelope]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Envelope(start + n, at + timedelta(seconds=n), type(e).TOPIC, e)  # type: ignore[attr-defined]
        for n, e in enumerate(events)
    ]


async def timeline(pool: asyncpg.Pool, contact_id: UUID) -> list[tuple[int, str]]:
    rows = await pool.fetch(
        "SELECT e.position, e.topic FROM message_events e JOIN messages m ON m.id = e.message_id "
        "WHERE m.contact_id = $1 ORDER BY e.position",
        contact_id,
    )
    return [(r["position"], r["topic"]) for r in rows]


async def test_an_erasure_in_the_batch_removes_the_rows_written_before_it(pool: asyncpg.Pool) -> None:
    erased, kept = uuid.uuid4(), uuid.uuid4()
    gone, stays = blocked_message(erased), blocked_message(kept)
    start = 10_000_000 + uuid.uuid4().int % 1_000_000 * 10
    batch = envelopes([gone[0], stays[0], gone[1], erasure(erased), stays[1]], start)
    async with pool.acquire() as conn, conn.transaction():
        await MessagesProjection().apply(conn, batch)
    orphans = await pool.fetchval(
        "SELECT count(*) FROM message_events WHERE message_id = $1",
        gone[0].originator_id,  # type: ignore[attr-defined]
    )
    assert orphans == 0
    assert await timeline(pool, erased) == []
    assert await timeline(pool, kept) == [
        (start + 1, Message.Created.TOPIC),
        (start + 4, Message.Blocked.TOPIC),
    ]
    status = await pool.fetchval("SELECT status FROM messages WHERE contact_id = $1", kept)
    assert status == "blocked"
