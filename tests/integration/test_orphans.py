"""A registration interrupted between claiming the address and recording the contact leaves a
lookup row and a data key behind; retention clears them once they are older than the grace
period, and never touches a contact that was recorded, nor a registration still under way."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import asyncpg
import pytest

from adapters.crypto.data_keys import PostgresDataKeys
from adapters.postgres.address_book import PostgresAddressBook
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.orphans import forget_orphans
from ledger.address import normalise
from ledger.application.contacts import ContactRegistry
from ledger.ports import StoredEvent
from ledger.repository import Repository
from ledger.vocabulary import Actor
from tests import pii
from tests.conftest import KEK

pytestmark = pytest.mark.integration
STAFF = Actor(kind="user", id="u-1")


class DroppedStore(PostgresEventStore):
    """An event store whose database goes away just as the contact is to be recorded."""

    async def append(self, events: Sequence[StoredEvent]) -> int:
        raise ConnectionResetError("the database went away")


async def counts(conn: asyncpg.Connection) -> tuple[int, int]:
    return (
        int(await conn.fetchval("SELECT count(*) FROM contact_lookup")),
        int(await conn.fetchval("SELECT count(*) FROM contact_keys")),
    )


async def test_unfinished_registrations_are_cleared_after_the_grace_period_and_nothing_else(
    pool: asyncpg.Pool, registry: ContactRegistry, database_url: str
) -> None:
    interrupted = ContactRegistry(
        Repository(DroppedStore(pool)),
        PostgresDataKeys(pool, KEK),
        PostgresAddressBook(pool),
        registry.sealer,
    )
    address = normalise("email", pii.email())
    with pytest.raises(ConnectionResetError):
        await interrupted.register(address, STAFF)
    recorded = await registry.register(normalise("email", pii.email()), STAFF)
    with pytest.raises(ConnectionResetError):
        await interrupted.register(normalise("email", pii.email()), STAFF)  # just now: still in grace
    owner = await asyncpg.connect(database_url)
    try:
        assert await counts(owner) == (3, 3)
        for table in ("contact_lookup", "contact_keys"):  # the first two are an hour and more old
            await owner.execute(
                f"UPDATE {table} SET created_at = now() - interval '2 hours' "
                "WHERE contact_id <> (SELECT contact_id FROM contact_lookup ORDER BY created_at DESC LIMIT 1)"
            )

        assert await forget_orphans(pool, timedelta(hours=1)) == 1
        assert await counts(owner) == (2, 2)
        assert await forget_orphans(pool, timedelta(hours=1)) == 0
    finally:
        await owner.close()
    assert await registry.find(normalise("email", recorded.address.value)) == recorded.contact_id
    assert await registry.keys.get(recorded.contact_id) is not None
    again = await registry.register(address, STAFF)  # the address is free to register for real
    assert again.created
    assert await registry.find(address) == again.contact_id
