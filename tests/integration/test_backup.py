"""Backup and restore on real PostgreSQL: populate, back up, erase one contact, restore into an
empty database → the erased contact stays erased, every other consent is identical, the chain
verifies. A tampered backup, or a database that already holds a ledger, is refused untouched."""

from __future__ import annotations

import gzip
import os
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.erasure_log import FileErasureLog
from adapters.postgres.address_book import PostgresAddressBook
from adapters.postgres.backup import BackupError, write_backup
from adapters.postgres.event_store import PostgresEventStore
from adapters.settings import Settings
from api.commands.backup import restore_into
from ledger.address import normalise
from ledger.consent_flows import Client, ConsentFlows
from ledger.program import new_program
from ledger.registry import ContactRegistry
from ledger.repository import Repository
from ledger.vocabulary import Actor
from tests import pii
from tests.conftest import INDEX_KEY, KEK, migrated_database
from tests.integration.test_contacts import catch_up, runner
from tests.property.consent_worlds import Clock, RememberingCodes

pytestmark = pytest.mark.integration
STAFF = Actor(kind="user", id="u-1")


@pytest.fixture
async def empty_database(admin_dsn: str, template_database: str) -> AsyncIterator[str]:
    """A second, freshly migrated database: the "wiped" server a restore goes to."""
    async with migrated_database(admin_dsn, template_database, "optin_restore") as dsn:
        yield dsn


async def consents(pool: asyncpg.Pool) -> set[tuple[uuid.UUID, str]]:
    rows = await pool.fetch("SELECT contact_id, status FROM consent_state")
    return {(r["contact_id"], r["status"]) for r in rows}


async def test_backup_erase_restore_keeps_the_erasure_and_everything_else(
    pool: asyncpg.Pool, store: PostgresEventStore, empty_database: str, tmp_path: Path
) -> None:
    log = FileErasureLog(tmp_path / "erasures.log")
    registry = ContactRegistry(
        Repository(store), PostgresDataKeys(pool, KEK), PostgresAddressBook(pool), NaclSealer(INDEX_KEY), log
    )
    codes = RememberingCodes(bytes(32))
    flows = ConsentFlows(registry.repository, registry, codes, Clock())
    program = new_program(
        name="P", description="", purpose="marketing", channels=("email",), disclosure="d", actor=STAFF
    )
    await registry.repository.save(program)
    people = [(await registry.register(normalise("email", pii.email()), STAFF)).contact_id for _ in range(3)]
    for contact in people[:2]:
        asked = await flows.request(contact, program.id, "opt_in", STAFF, Client(ip="203.0.113.9"))
        assert asked.verification_id
        await flows.confirm(asked.verification_id, codes.sent[asked.verification_id], Client())
    await flows.record_opt_out(people[2], program.id, "asked by phone", STAFF, Client())
    await catch_up(runner(pool))
    before = await consents(pool)

    backup = tmp_path / "ledger.backup.gz"
    header = await write_backup(pool, backup)
    assert header.position == await store.head()
    await registry.erase(people[1], STAFF)  # after the backup was taken

    settings = Settings(
        database_url=empty_database,
        data_dir=tmp_path,
        kek=KEK,
        index_key=INDEX_KEY,
        token_key=bytes(32),
        erasure_log=str(log.path),
    )
    restored = await restore_into(settings, backup)
    assert restored.erased_again == 1
    target = await asyncpg.connect(empty_database)
    try:
        assert (
            await target.fetchval("SELECT count(*) FROM contact_keys WHERE contact_id = $1", people[1]) == 0
        )
        assert (
            await target.fetchval("SELECT count(*) FROM contact_lookup WHERE contact_id = $1", people[1]) == 0
        )
        assert await target.fetchval("SELECT count(*) FROM contacts WHERE id = $1", people[1]) == 0
        after = {
            (r["contact_id"], r["status"])
            for r in await target.fetch("SELECT contact_id, status FROM consent_state")
        }
        assert after == {c for c in before if c[0] != people[1]}
        assert await target.fetchval("SELECT count(*) FROM contacts") == 2
        topics = [r[0] for r in await target.fetch("SELECT topic FROM events ORDER BY notification_id")]
        assert topics[-1] == "contact.erased"
        assert restored.events_after == header.position + 1
    finally:
        await target.close()


async def test_a_tampered_backup_or_a_non_empty_target_is_refused(
    pool: asyncpg.Pool,
    store: PostgresEventStore,
    registry: ContactRegistry,
    empty_database: str,
    tmp_path: Path,
) -> None:
    for _ in range(3):
        await registry.register(normalise("email", pii.email()), STAFF)
    backup = tmp_path / "ok.gz"
    await write_backup(pool, backup)
    lines = gzip.decompress(backup.read_bytes()).splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"v":1', b'"v":2')
    tampered = tmp_path / "tampered.gz"
    tampered.write_bytes(gzip.compress(b"".join(lines)))
    settings = Settings(
        database_url=empty_database, data_dir=tmp_path, kek=KEK, index_key=INDEX_KEY, token_key=bytes(32)
    )
    with pytest.raises(BackupError, match="chain breaks at position 2"):
        await restore_into(settings, tampered)
    target = await asyncpg.connect(empty_database)
    assert await target.fetchval("SELECT count(*) FROM events") == 0
    await target.close()
    await restore_into(settings, backup)
    with pytest.raises(BackupError, match="already holds a ledger"):
        await restore_into(settings, backup)


async def test_a_backup_is_readable_by_its_owner_only_from_the_first_byte(
    pool: asyncpg.Pool, registry: ContactRegistry, tmp_path: Path
) -> None:
    """It holds password hashes and wrapped keys: 0600 whatever the umask, also over an old file;
    and nothing half-written is ever left under the backup's name."""
    await registry.register(normalise("email", pii.email()), STAFF)
    fresh, old = tmp_path / "fresh.gz", tmp_path / "old.gz"
    old.write_bytes(b"last night's backup")
    old.chmod(0o644)
    previous = os.umask(0o022)  # the usual umask: files made without a mode come out 0644
    try:
        await write_backup(pool, fresh)
        await write_backup(pool, old)
    finally:
        os.umask(previous)
    for path in (fresh, old):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert gzip.decompress(path.read_bytes()).startswith(b'{"kind":"header"')
    assert sorted(os.listdir(tmp_path)) == ["fresh.gz", "old.gz"]
