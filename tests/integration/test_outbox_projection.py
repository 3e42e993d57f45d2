"""The outbox read model, applied batch by batch as the runner applies it: a batch's changes are
netted and written in a few statements, and leave what applying its events one by one leaves —
a row added and removed in the same batch, a failure of a row added in it or before it, an
erasure in the middle of a batch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from ledger.contact import Contact, register_contact
from ledger.message import Basis, Message, Sealed, code_message_id, request_message
from ledger.send_failure import Failure
from ledger.verification import Verification, issue_verification
from ledger.vocabulary import SYSTEM
from projections.outbox import OutboxProjection
from tests.integration.batches import envelopes, one_by_one_and_batched

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CODE = b"code-hash"


def code(contact_id: UUID) -> Verification:
    return issue_verification(
        uuid.uuid4(), contact_id=contact_id, channel="email", code_hash=CODE, sealed_code=b"s",
        now=NOW, actor=SYSTEM,
    )  # fmt: skip


def message(contact_id: UUID, verification_id: UUID | None = None) -> Message:
    message_id = code_message_id(verification_id) if verification_id else uuid.uuid4()
    m = request_message(
        message_id, contact_id=contact_id, channel="email", kind="transactional",
        purpose="transactional", optin_id=None, idempotency_key=None, actor=SYSTEM,
    )  # fmt: skip
    basis = Basis(rule="verification", verification_id=verification_id) if verification_id else None
    m.queue(basis or Basis(rule="transactional"), None, Sealed(text=b"x", variables=b"y"), "p", None, False)
    return m


def failed(m: Message, minutes: int) -> list[Any]:
    m.failed(Failure("deferred", None, None), NOW + timedelta(minutes=minutes), NOW)
    return list(m.collect_events())


def erasure(contact_id: UUID) -> Any:
    contact: Contact = register_contact(contact_id, channel="email", sealed_address=b"x", actor=SYSTEM)
    contact.collect_events()
    contact.erase(SYSTEM)
    return contact.collect_events()[0]


def scenario(contact: UUID, erased: UUID) -> tuple[list[Any], list[Any], dict[str, UUID]]:
    """Events before a batch, the batch, and the message ids to look at."""
    issued, confirmed = code(contact), code(contact)
    before = list(issued.collect_events())  # the code's message joins the outbox a batch before
    mine = message(contact, issued.id)  # ... and is queued, then fails, in the batch
    gone, retried, sent, theirs = message(erased), message(contact), message(contact), message(erased)
    batch = [*mine.collect_events()[1:], *failed(mine, 5)]
    batch += list(confirmed.collect_events())
    confirmed.attempt(CODE, NOW)  # issued and confirmed in the batch: never to send
    batch += [*confirmed.collect_events(), gone.collect_events()[1]]
    batch += [retried.collect_events()[1], *failed(retried, 1), *failed(retried, 9)]
    sent_events = sent.collect_events()
    sent.sent("smtp", "p-1", NOW)
    batch += [sent_events[1], *sent.collect_events(), erasure(erased), theirs.collect_events()[1]]
    # Not a path the service takes, but the one a failure's update must not reach: a message
    # that failed, was sent and was queued again, in one batch.
    again = message(contact)
    again_events = again.collect_events()
    batch += [again_events[1], *failed(again, 3)]
    again.sent("smtp", "p-2", NOW)
    batch += [*again.collect_events(), message_queued_again(again.id, contact)]
    ids = {"mine": mine.id, "confirmed": code_message_id(confirmed.id), "gone": gone.id}
    return (
        before,
        batch,
        ids | {"retried": retried.id, "sent": sent.id, "theirs": theirs.id, "again": again.id},
    )


def message_queued_again(message_id: UUID, contact_id: UUID) -> Any:
    m = request_message(
        message_id, contact_id=contact_id, channel="email", kind="transactional",
        purpose="transactional", optin_id=None, idempotency_key=None, actor=SYSTEM,
    )  # fmt: skip
    m.queue(Basis(rule="transactional"), None, Sealed(text=b"x", variables=b"y"), "p", None, False)
    return m.collect_events()[1]


async def outbox(pool: asyncpg.Pool, contacts: list[UUID]) -> dict[UUID, tuple[Any, ...]]:
    rows = await pool.fetch(
        "SELECT id, contact_id, kind, verification_id, attempts, due_at, created_at, position FROM outbox "
        "WHERE contact_id = ANY($1::uuid[])",
        contacts,
    )
    return {r["id"]: tuple(r) for r in rows}


async def test_a_batch_leaves_what_its_events_one_by_one_leave(pool: asyncpg.Pool) -> None:
    contact, erased = uuid.uuid4(), uuid.uuid4()
    before, batch, ids = scenario(contact, erased)
    start = 20_000_000 + uuid.uuid4().int % 1_000_000 * 100
    single, batched = await one_by_one_and_batched(
        pool,
        OutboxProjection(),
        envelopes(before, start),
        envelopes(batch, start + len(before)),
        lambda p: outbox(p, [contact, erased]),
        lambda c: c.execute("DELETE FROM outbox WHERE contact_id = ANY($1::uuid[])", [contact, erased]),
    )
    assert batched == single
    assert set(batched) == {ids["mine"], ids["retried"], ids["theirs"], ids["again"]}
    assert batched[ids["again"]][4] == 0  # queued afresh, after its failure
    mine, retried = batched[ids["mine"]], batched[ids["retried"]]
    assert mine[2:5] == ("verification_code", mine[3], 1)  # the code's row, failed once
    assert mine[5] == NOW + timedelta(minutes=5) and mine[7] > start + len(before)
    assert retried[4:6] == (2, NOW + timedelta(minutes=9))
