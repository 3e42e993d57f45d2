"""The verifications read model, applied batch by batch as the runner applies it: a batch's codes
and their updates are netted and written in a few statements, and leave what applying its events
one by one leaves — a code issued and decided in the same batch, a code issued before it failing
and locking, an erasure in the middle of a batch (codes issued after it stay)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from ledger.contact import Contact, register_contact
from ledger.verification import MAX_ATTEMPTS, Verification, issue_verification
from ledger.vocabulary import SYSTEM
from projections.verifications import VerificationsProjection
from tests.integration.batches import envelopes, one_by_one_and_batched

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RIGHT, WRONG = b"right", b"wrong"


def code(contact_id: UUID) -> Verification:
    return issue_verification(
        uuid.uuid4(), contact_id=contact_id, channel="email", code_hash=RIGHT, sealed_code=b"s",
        now=NOW, actor=SYSTEM,
    )  # fmt: skip


def tried(verification: Verification, *hashes: bytes) -> list[Any]:
    for n, h in enumerate(hashes):
        verification.attempt(h, NOW + timedelta(minutes=n + 1))
    return list(verification.collect_events())


def erasure(contact_id: UUID) -> Any:
    contact: Contact = register_contact(contact_id, channel="email", sealed_address=b"x", actor=SYSTEM)
    contact.collect_events()
    contact.erase(SYSTEM)
    return contact.collect_events()[0]


def scenario(contact: UUID, erased: UUID) -> tuple[list[Any], list[Any], dict[str, UUID]]:
    """Events before a batch, the batch, and the codes to look at."""
    earlier, locked, confirmed, gone, later = (
        code(contact),
        code(contact),
        code(contact),
        code(erased),
        code(erased),
    )
    again = code(erased)
    before = [*earlier.collect_events(), *locked.collect_events(), *again.collect_events()]
    batch = tried(earlier, WRONG, RIGHT)  # a code issued before the batch: a failure, then confirmed
    batch += tried(locked, *[WRONG] * MAX_ATTEMPTS)
    batch += [*confirmed.collect_events(), *tried(confirmed, WRONG, RIGHT)]  # issued and decided in it
    batch += [*gone.collect_events(), *tried(gone, WRONG), *tried(again, WRONG), erasure(erased)]
    # Not a path the service takes (a code's id is new), but the one an update must not reach:
    # a code of the erased contact issued again, after its failure and the erasure.
    batch += [*later.collect_events(), *reissued(again.id, erased).collect_events()]
    ids = {"earlier": earlier.id, "locked": locked.id, "confirmed": confirmed.id, "gone": gone.id}
    return before, batch, ids | {"later": later.id, "again": again.id}


def reissued(verification_id: UUID, contact_id: UUID) -> Verification:
    return issue_verification(
        verification_id, contact_id=contact_id, channel="email", code_hash=RIGHT, sealed_code=b"s",
        now=NOW, actor=SYSTEM,
    )  # fmt: skip


async def codes(pool: asyncpg.Pool, contacts: list[UUID]) -> dict[UUID, tuple[Any, ...]]:
    rows = await pool.fetch(
        "SELECT id, status, failures, decided_at, position FROM verifications "
        "WHERE contact_id = ANY($1::uuid[])",
        contacts,
    )
    return {r["id"]: tuple(r) for r in rows}


async def test_a_batch_leaves_what_its_events_one_by_one_leave(pool: asyncpg.Pool) -> None:
    contact, erased = uuid.uuid4(), uuid.uuid4()
    before, batch, ids = scenario(contact, erased)
    start = 30_000_000 + uuid.uuid4().int % 1_000_000 * 100
    single, batched = await one_by_one_and_batched(
        pool,
        VerificationsProjection(),
        envelopes(before, start),
        envelopes(batch, start + len(before)),
        lambda p: codes(p, [contact, erased]),
        lambda c: c.execute(
            "DELETE FROM verifications WHERE contact_id = ANY($1::uuid[])", [contact, erased]
        ),
    )
    assert batched == single
    assert set(batched) == {ids["earlier"], ids["locked"], ids["confirmed"], ids["later"], ids["again"]}
    assert batched[ids["earlier"]][1:4] == ("confirmed", 1, NOW + timedelta(minutes=2))
    assert batched[ids["locked"]][1:3] == ("locked", MAX_ATTEMPTS)
    assert batched[ids["confirmed"]][1:4] == ("confirmed", 1, NOW + timedelta(minutes=2))
    assert batched[ids["later"]][1:3] == batched[ids["again"]][1:3] == ("open", 0)
