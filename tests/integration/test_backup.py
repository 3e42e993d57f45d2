"""Backup and restore on real PostgreSQL: populate, back up, erase one contact, restore into an
empty database → the erased contact stays erased, every other consent is identical, the chain
verifies; also with the erasure log where the Helm chart puts it (a database of its own). A
tampered backup, or a database that already holds a ledger, is refused untouched."""

from __future__ import annotations

import base64
import gzip
import os
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.erasure_log import FileErasureLog, erasure_log, prepare_erasure_log
from adapters.postgres.address_book import PostgresAddressBook
from adapters.postgres.backup import BackupError, write_backup
from adapters.postgres.dsn import with_database
from adapters.postgres.event_store import PostgresEventStore
from adapters.settings import Settings, load_settings
from api.commands.backup import restore_into
from ledger.address import normalise
from ledger.application.consent import Client, ConsentFlows
from ledger.application.contacts import ContactRegistry
from ledger.ports import ErasureLog
from ledger.program import new_program
from ledger.repository import Repository
from ledger.vocabulary import Actor
from tests import pii
from tests.charts.manifests import env_of, named, rendered
from tests.conftest import INDEX_KEY, KEK, drop_database, migrated_database
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


async def populate(registry: ContactRegistry, pool: asyncpg.Pool) -> list[uuid.UUID]:
    """Three contacts: two opted in with a code, one opted out by staff; read models caught up."""
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
    return people


def registry_with(pool: asyncpg.Pool, store: PostgresEventStore, log: ErasureLog) -> ContactRegistry:
    return ContactRegistry(
        Repository(store), PostgresDataKeys(pool, KEK), PostgresAddressBook(pool), NaclSealer(INDEX_KEY), log
    )


async def assert_erased_and_the_rest_intact(
    target_dsn: str, erased: uuid.UUID, before: set[tuple[uuid.UUID, str]]
) -> None:
    target = await asyncpg.connect(target_dsn)
    try:
        for table, column in (
            ("contact_keys", "contact_id"),
            ("contact_lookup", "contact_id"),
            ("contacts", "id"),
        ):
            found = await target.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", erased)
            assert found == 0, table
        after = {
            (r["contact_id"], r["status"])
            for r in await target.fetch("SELECT contact_id, status FROM consent_state")
        }
        assert after == {c for c in before if c[0] != erased}
        assert await target.fetchval("SELECT count(*) FROM contacts") == 2
        topics = [r[0] for r in await target.fetch("SELECT topic FROM events ORDER BY notification_id")]
        assert topics[-1] == "contact.erased"
    finally:
        await target.close()


async def test_backup_erase_restore_keeps_the_erasure_and_everything_else(
    pool: asyncpg.Pool, store: PostgresEventStore, empty_database: str, tmp_path: Path
) -> None:
    log = FileErasureLog(tmp_path / "erasures.log")
    registry = registry_with(pool, store, log)
    people = await populate(registry, pool)
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
    assert restored.events_after == header.position + 1
    await assert_erased_and_the_rest_intact(empty_database, people[1], before)


def chart_database_env() -> dict[str, str]:
    """The API pods' settings as the production values render them: the ConfigMap, then the plain
    env values (the database URLs, whose passwords are `$(VAR)` references to Secrets)."""
    manifests = rendered("flux-production")
    (config,) = [m for m in manifests if m["kind"] == "ConfigMap"]
    container = named(manifests, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    plain = {name: e["value"] for name, e in env_of(container).items() if "value" in e}
    return {**config["data"], **plain}


@pytest.fixture
async def erasure_database(admin_dsn: str) -> AsyncIterator[str]:
    """The erasure log's own database, empty: the chart's second CloudNativePG cluster, here."""
    name = f"optin_erasures_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
        yield with_database(admin_dsn, name)
        await drop_database(conn, name)
    finally:
        await conn.close()


async def test_restore_with_the_erasure_log_where_the_chart_puts_it_keeps_the_contact_erased(
    pool: asyncpg.Pool,
    store: PostgresEventStore,
    empty_database: str,
    erasure_database: str,
    tmp_path: Path,
) -> None:
    chart = chart_database_env()
    ledger_url, log_url = urlsplit(chart["DATABASE_URL"]), urlsplit(chart["OPTIN_ERASURE_LOG"])
    # the chart: a postgresql:// URL of another cluster, never a file on the pod's temporary disk
    assert log_url.scheme == "postgresql"
    assert log_url.hostname != ledger_url.hostname
    # Here the test server stands in for both clusters; the erasure log keeps a database of its own.
    local = {**chart, "DATABASE_URL": empty_database, "OPTIN_ERASURE_LOG": erasure_database}
    keys = {n: base64.b64encode(k).decode() for n, k in (("OPTIN_KEK", KEK), ("OPTIN_INDEX_KEY", INDEX_KEY))}
    settings = load_settings({**local, **keys, "OPTIN_TOKEN_KEY": base64.b64encode(bytes(32)).decode()})
    assert settings.erasure_log_location == erasure_database

    await prepare_erasure_log(settings.erasure_log_location)  # what the chart's migration hook does
    registry = registry_with(pool, store, erasure_log(settings.erasure_log_location))
    people = await populate(registry, pool)
    before = await consents(pool)
    backup = tmp_path / "ledger.backup.gz"
    await write_backup(pool, backup)
    await registry.erase(people[0], STAFF)

    restored = await restore_into(settings, backup)  # into a fresh database: the "lost" ledger
    assert restored.erased_again == 1
    await assert_erased_and_the_rest_intact(empty_database, people[0], before)


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
    await prepare_erasure_log(str(tmp_path / "erasures.log"))  # as the service does when it starts
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
