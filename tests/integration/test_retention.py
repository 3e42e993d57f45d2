"""Retention: idle contacts without consent are erased (a dry run only lists them); codes that
expired unanswered are closed and their pending requests lapse; rate-limit hits older than every
window are forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from adapters.postgres.event_store import PostgresEventStore
from adapters.settings import Settings
from api.composition import compose
from ledger.address import normalise
from ledger.application.consent import Client, ConsentFlows
from ledger.application.contacts import ContactRegistry
from ledger.application.retention import Retention
from ledger.program import new_program
from ledger.vocabulary import Actor
from projections import contacts, verifications
from tests import pii
from tests.integration.test_contacts import catch_up, runner
from tests.property.consent_worlds import Clock, RememberingCodes

pytestmark = pytest.mark.integration
STAFF = Actor(kind="user", id="u-1")


async def test_retention_erases_only_idle_contacts_without_consent_and_closes_stale_codes(
    registry: ContactRegistry, pool: asyncpg.Pool, store: PostgresEventStore, database_url: str
) -> None:
    clock = Clock()
    codes = RememberingCodes(bytes(32))
    flows = ConsentFlows(registry.repository, registry, codes, clock)
    program = new_program(
        name="P", description="", purpose="marketing", channels=("email",), disclosure="d", actor=STAFF
    )
    await registry.repository.save(program)
    idle = (await registry.register(normalise("email", pii.email()), STAFF)).contact_id
    consenting = (await registry.register(normalise("email", pii.email()), STAFF)).contact_id
    asked = await flows.request(consenting, program.id, "opt_in", STAFF, Client())
    assert asked.verification_id
    await flows.confirm(asked.verification_id, codes.sent[asked.verification_id], Client())
    waiting = (await registry.register(normalise("email", pii.email()), STAFF)).contact_id
    pending = await flows.request(waiting, program.id, "opt_in", STAFF, Client())
    r = runner(pool)
    await catch_up(r)
    owner = await asyncpg.connect(database_url)
    await owner.execute("UPDATE contacts SET last_activity_at = now() - interval '800 days'")
    await owner.close()

    later = Clock()
    later.offset = timedelta(minutes=30)
    retention = Retention(
        registry.repository,
        registry,
        later,
        idle_contacts=lambda before, limit: contacts.idle_without_consent(pool, before, limit),
        stale_codes=lambda now, limit: verifications.stale(pool, now, limit),
    )
    preview = await retention.run(timedelta(days=730), dry_run=True)
    assert set(preview.erased) == {idle, waiting}
    assert preview.expired_codes == [pending.verification_id]
    assert await registry.keys.get(idle) is not None

    done = await retention.run(timedelta(days=730))
    assert set(done.erased) == {idle, waiting}
    assert await registry.keys.get(idle) is None
    assert await registry.keys.get(consenting) is not None
    await catch_up(r)
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 1
    assert await verifications.stale(pool, datetime.now(UTC) + timedelta(hours=1), 10) == []


async def test_retention_forgets_rate_limit_hits_no_window_counts_any_more(
    pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=database_url, data_dir=tmp_path, index_key=b"i" * 32, token_key=b"t" * 32, kek=b"k" * 32
    )
    parts = compose(settings, pool, follow=False)
    try:
        for _ in range(3):
            assert await parts.limiter.hit("code:contact:old", 10, timedelta(hours=1)) is None
        assert await parts.limiter.hit("code:contact:new", 10, timedelta(hours=1)) is None
        owner = await asyncpg.connect(database_url)
        await owner.execute(
            "UPDATE rate_limit_hits SET hit_at = now() - interval '3 hours' WHERE bucket = 'code:contact:old'"
        )
        await owner.close()
        report = await parts.retention.run(timedelta(days=730))
        assert report.forgotten_hits == 3
        assert [r["bucket"] for r in await pool.fetch("SELECT bucket FROM rate_limit_hits")] == [
            "code:contact:new"
        ]
        dry = await parts.retention.run(timedelta(days=730), dry_run=True)
        assert dry.forgotten_hits == 0
    finally:
        await parts.close()
