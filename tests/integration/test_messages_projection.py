"""The messages read model, applied batch by batch as the runner applies it: a message's
timeline rows go in together, and an erasure in the same batch still removes every one of its
contact's rows (those written earlier in the batch too), while other contacts' stay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import pytest

from adapters.postgres.pool import Connection
from ledger.contact import Contact, register_contact
from ledger.message import Basis, Message, Sealed, request_message
from ledger.send_failure import Failure
from ledger.vocabulary import SYSTEM
from projections.messages import MessagesProjection
from projections.projection import Envelope
from tests.integration.batches import one_by_one_and_batched

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 1, tzinfo=UTC)


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


def queued(contact_id: UUID) -> Message:
    message: Message = request_message(
        uuid.uuid4(), contact_id=contact_id, channel="email", kind="transactional",
        purpose="transactional", optin_id=None, idempotency_key=None, actor=SYSTEM,
    )  # fmt: skip
    message.queue(Basis(rule="transactional"), None, Sealed(text=b"x", variables=b"y"), "p", None, False)
    return message


def failed_then_sent(message: Message) -> list[object]:
    message.failed(Failure("deferred", "421", None), datetime(2026, 1, 1, 0, 5, tzinfo=UTC), NOW)
    message.sent("smtp", "p-1", NOW)
    return list(message.collect_events())


async def messages(pool: asyncpg.Pool, contacts: list[UUID]) -> list[tuple[object, ...]]:
    rows = await pool.fetch(
        "SELECT id, status, reason, attempts, provider_id, template_id, preview, updated_at, position "
        "FROM messages WHERE contact_id = ANY($1::uuid[]) ORDER BY id",
        contacts,
    )
    events = await pool.fetch(
        "SELECT e.message_id, e.position FROM message_events e JOIN messages m ON m.id = e.message_id "
        "WHERE m.contact_id = ANY($1::uuid[]) ORDER BY 1, 2",
        contacts,
    )
    return [tuple(r) for r in rows] + [tuple(r) for r in events]


async def test_a_batch_leaves_what_its_events_one_by_one_leave(pool: asyncpg.Pool) -> None:
    contact, erased = uuid.uuid4(), uuid.uuid4()
    earlier, fresh, gone = queued(contact), queued(contact), queued(erased)
    before: list[object] = list(earlier.collect_events())
    batch = [*fresh.collect_events(), *failed_then_sent(earlier), *gone.collect_events()]
    batch += [erasure(erased), *failed_then_sent(fresh)]
    start = 40_000_000 + uuid.uuid4().int % 1_000_000 * 100

    async def forget(conn: Connection) -> None:
        for contact_id in (contact, erased):
            await MessagesProjection().apply(conn, envelopes([erasure(contact_id)], start - 1))

    single, batched = await one_by_one_and_batched(
        pool,
        MessagesProjection(),
        envelopes(before, start),
        envelopes(batch, start + len(before)),
        lambda p: messages(p, [contact, erased]),
        forget,
    )
    assert batched == single
    rows = {r[0]: r for r in batched if len(r) > 2}
    assert set(rows) == {earlier.id, fresh.id}
    assert [rows[m][1:5] for m in (earlier.id, fresh.id)] == [("sent", None, 2, "p-1")] * 2
