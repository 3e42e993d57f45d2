"""The consent receipt follower on real PostgreSQL: it hands over every opt-in and opt-out once per
run, in ledger order, resumes after a crash from the last batch it finished, and starts a lost
tracking row at the head rather than hand over the past."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from adapters.postgres.event_store import PostgresEventStore
from ledger.consent import Consent, Evidence, open_consent
from ledger.repository import Repository
from ledger.vocabulary import Actor
from projections.consent_receipts import NAME, ConsentReceiptFollower

pytestmark = pytest.mark.integration
STAFF = Evidence(actor=Actor(kind="user", id="u-1"), source="admin")
PHONE = Evidence(actor=Actor(kind="contact"), source="sms_keyword", keyword="YES")


async def opt_ins_and_outs(store: PostgresEventStore, count: int) -> list[int]:
    """`count` consents granted then withdrawn, one stream each; the consent events' positions."""
    repository, positions = Repository(store), []
    for _ in range(count):
        consent = open_consent(uuid.uuid4(), uuid.uuid4(), "sms")
        consent.grant(PHONE)
        granted_at = await repository.save(consent)
        consent.withdraw(STAFF)
        positions += [granted_at, await repository.save(consent)]
    return positions


class Crashing:
    """A `deliver` that records what it was given and fails once, at the `crash_at`-th call."""

    def __init__(self, crash_at: int | None = None) -> None:
        self.seen: list[int] = []
        self.crash_at = crash_at

    async def __call__(self, position: int, change: Consent.Granted | Consent.Withdrawn) -> None:
        assert isinstance(change, Consent.Granted | Consent.Withdrawn)
        if len(self.seen) + 1 == self.crash_at:
            self.crash_at = None
            raise RuntimeError("the process died while recording a receipt")
        self.seen.append(position)


async def tracked(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT position FROM projection_tracking WHERE name = $1", NAME))


async def test_every_consent_event_is_handed_over_in_order_and_a_crash_resumes_at_its_batch(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    positions = await opt_ins_and_outs(store, 6)  # 12 consent events among 18 (each stream opens)
    deliver = Crashing(crash_at=5)
    # 6 positions a batch: 4 consent events; one at a time, so the crash lands at a known one.
    follower = ConsentReceiptFollower(pool, deliver, batch_size=6, concurrency=1)
    with pytest.raises(RuntimeError):
        await follower.catch_up()
    assert deliver.seen == positions[:4] and await tracked(pool) == 6  # batch 2 was cut short
    assert await follower.catch_up() == 8
    assert deliver.seen == positions  # batch 2 handed over again from its start; nothing skipped
    assert await tracked(pool) == await store.head()
    assert await follower.catch_up() == 0


async def test_receipts_recorded_side_by_side_are_all_handed_over_even_after_a_crash(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    positions = await opt_ins_and_outs(store, 10)
    deliver = Crashing(crash_at=7)
    follower = ConsentReceiptFollower(pool, deliver, batch_size=9, concurrency=4)
    with pytest.raises(RuntimeError):
        await follower.catch_up()
    assert await tracked(pool) == 9  # the first batch only
    await follower.catch_up()
    assert sorted(set(deliver.seen)) == positions  # some twice (the cut batch), none skipped
    assert await tracked(pool) == await store.head()


async def test_a_lost_tracking_row_starts_at_the_head(pool: asyncpg.Pool, store: PostgresEventStore) -> None:
    await opt_ins_and_outs(store, 2)
    await pool.execute("DELETE FROM projection_tracking WHERE name = $1", NAME)
    deliver = Crashing()
    follower = ConsentReceiptFollower(pool, deliver)
    assert await follower.catch_up() == 0 and deliver.seen == []
    later = await opt_ins_and_outs(store, 1)
    assert await follower.catch_up() == 2 and deliver.seen == later
