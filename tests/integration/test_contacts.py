"""Contacts on real PostgreSQL: one contact per address under concurrency, erasure by
crypto-shredding (the chain still verifies, replay still works), no plaintext at rest."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from adapters.crypto.data_keys import KeyEncryptionKeyError, PostgresDataKeys, rewrap_all
from adapters.crypto.sealer import NaclSealer
from adapters.postgres.event_store import PostgresEventStore
from adapters.settings import Settings
from ledger.address import normalise
from ledger.application.contacts import ContactRegistry
from ledger.chain import ChainRecord, first_break
from ledger.contact import Contact
from ledger.errors import NotFoundError
from ledger.vocabulary import Actor
from projections.catalog import all_projections
from projections.runner import ProjectionRunner
from tests import pii
from tests.conftest import INDEX_KEY, KEK

pytestmark = pytest.mark.integration
STAFF = Actor(kind="user", id="u-1")


def runner(pool: asyncpg.Pool, tmp_path: object = None) -> ProjectionRunner:
    settings = Settings(data_dir=__import__("pathlib").Path("/tmp"), kek=KEK, index_key=INDEX_KEY)
    return ProjectionRunner(pool, all_projections(settings))


async def catch_up(r: ProjectionRunner) -> None:
    for projection in r.projections.values():
        await r.catch_up(projection)


async def test_twenty_concurrent_registrations_of_one_address_make_one_contact(
    registry: ContactRegistry, store: PostgresEventStore, pool: asyncpg.Pool
) -> None:
    address = normalise("email", pii.email())
    results = await asyncio.gather(*(registry.register(address, STAFF) for _ in range(20)))
    assert len({r.contact_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert await pool.fetchval("SELECT count(*) FROM contact_lookup") == 1
    assert await pool.fetchval("SELECT count(*) FROM contact_keys") == 1
    assert len(await store.read_stream(results[0].contact_id)) == 1


async def test_spellings_of_one_address_are_one_contact(registry: ContactRegistry) -> None:
    raw = pii.remember("+1 (415) 555-0123")
    pii.remember("+14155550123")
    a = await registry.register(normalise("sms", raw), STAFF)
    b = await registry.register(normalise("sms", "4155550123"), STAFF)
    assert a.contact_id == b.contact_id
    assert (await registry.address_of(a.contact_id)).value == "+14155550123"


async def test_erasure_shreds_the_key_keeps_the_events_and_the_chain(
    registry: ContactRegistry, store: PostgresEventStore, pool: asyncpg.Pool
) -> None:
    r = runner(pool)
    address = normalise("email", pii.email())
    kept = await registry.register(normalise("sms", pii.phone()), STAFF)
    gone = await registry.register(address, STAFF)
    await catch_up(r)
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 2

    await registry.erase(gone.contact_id, STAFF)
    await catch_up(r)

    assert await pool.fetchval("SELECT count(*) FROM contacts WHERE id = $1", gone.contact_id) == 0
    assert (
        await pool.fetchval("SELECT count(*) FROM contact_timeline WHERE contact_id = $1", gone.contact_id)
        == 0
    )
    assert await registry.keys.get(gone.contact_id) is None
    with pytest.raises(NotFoundError):
        await registry.address_of(gone.contact_id)
    # The events stay, and still load: the address reads as redacted, not as an error.
    contact = await registry.repository.get(Contact, gone.contact_id)
    assert contact.erased
    assert NaclSealer(INDEX_KEY).open(None, contact.sealed_address) is None
    rows = await store.read_after(0, 100)
    assert [r.topic for r in rows].count("contact.erased") == 1
    assert (
        first_break(
            (
                ChainRecord(
                    e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, e.recorded_at
                ),
                e.hash,
            )
            for e in rows
        )
        is None
    )
    # Replay from zero still works and does not bring the contact back.
    for projection in r.projections.values():
        await r.rebuild(projection)
    ids = {row["id"] for row in await pool.fetch("SELECT id FROM contacts")}
    assert ids == {kept.contact_id}
    # The address can be registered again, as a new contact.
    again = await registry.register(address, STAFF)
    assert again.created
    assert again.contact_id != gone.contact_id


async def test_erasing_twice_or_an_unknown_contact_is_not_found(registry: ContactRegistry) -> None:
    gone = await registry.register(normalise("email", pii.email()), STAFF)
    await registry.erase(gone.contact_id, STAFF)
    with pytest.raises(NotFoundError):
        await registry.erase(gone.contact_id, STAFF)
    with pytest.raises(NotFoundError):
        await registry.erase(uuid.uuid4(), STAFF)


async def test_no_table_holds_a_plaintext_address(
    registry: ContactRegistry, pool: asyncpg.Pool, database_url: str
) -> None:
    for _ in range(3):
        await registry.register(normalise("email", pii.email()), STAFF)
        await registry.register(normalise("sms", pii.phone()), STAFF)
    await catch_up(runner(pool))
    owner = await asyncpg.connect(database_url)
    try:
        tables = [
            r[0]
            for r in await owner.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ]
        dump: list[str] = []
        for table in tables:
            for row in await owner.fetch(f'SELECT * FROM "{table}"'):
                for value in row.values():
                    raw = bytes(value) if isinstance(value, bytes | memoryview) else None
                    dump.append(raw.decode("utf-8", "replace") if raw is not None else str(value))
    finally:
        await owner.close()
    text = "\n".join(dump)
    assert "contact_keys" in tables
    assert pii.leaks(text) == []


async def test_kek_rotation_rewraps_keys_without_touching_events(
    registry: ContactRegistry, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    one = await registry.register(normalise("email", pii.email()), STAFF)
    before = [r.hash for r in await store.read_after(0, 100)]
    new_kek = bytes(reversed(KEK))
    assert await rewrap_all(pool, KEK, new_kek) == 1
    assert await rewrap_all(pool, KEK, new_kek) == 0  # re-running is harmless
    with pytest.raises(KeyEncryptionKeyError):
        await PostgresDataKeys(pool, KEK).get(one.contact_id)
    rotated = ContactRegistry(
        registry.repository, PostgresDataKeys(pool, new_kek), registry.book, registry.sealer
    )
    assert (await rotated.address_of(one.contact_id)).channel == "email"
    assert [r.hash for r in await store.read_after(0, 100)] == before
