"""The erasure log refuses to be lost quietly: a restore that cannot read it writes nothing, and
the log may never live in a ledger database (a restore of that database would roll it back)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from adapters.erasure_log import ErasureLogError, FileErasureLog, erasure_log, prepare_erasure_log
from adapters.postgres.backup import write_backup
from adapters.postgres.dsn import with_database
from adapters.settings import Settings
from api.commands.backup import restore_into
from ledger.address import normalise
from ledger.application.contacts import ContactRegistry
from ledger.vocabulary import Actor
from tests import pii
from tests.conftest import INDEX_KEY, KEK, drop_database, migrated_database

pytestmark = pytest.mark.integration
STAFF = Actor(kind="user", id="u-1")


@pytest.fixture
async def empty_database(admin_dsn: str, template_database: str) -> AsyncIterator[str]:
    async with migrated_database(admin_dsn, template_database, "optin_restore") as dsn:
        yield dsn


@pytest.fixture
async def unprepared_database(admin_dsn: str) -> AsyncIterator[str]:
    """A database that exists but never held an erasure log: a mistyped OPTIN_ERASURE_LOG."""
    name = f"optin_elsewhere_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
        yield with_database(admin_dsn, name)
        await drop_database(conn, name)
    finally:
        await conn.close()


@pytest.mark.parametrize("where", ["missing file", "unprepared database", "the ledger itself", "no server"])
async def test_a_restore_that_cannot_read_the_erasure_log_writes_nothing(
    where: str,
    pool: asyncpg.Pool,
    registry: ContactRegistry,
    database_url: str,
    empty_database: str,
    unprepared_database: str,
    tmp_path: Path,
) -> None:
    await registry.register(normalise("email", pii.email()), STAFF)
    backup = tmp_path / "ledger.backup.gz"
    await write_backup(pool, backup)
    location, complaint = {
        "missing file": (str(tmp_path / "gone" / "erasures.log"), "does not exist"),
        "unprepared database": (unprepared_database, "holds no erasure log"),
        "the ledger itself": (database_url, "holds a ledger"),
        "no server": ("postgresql://nobody:x@127.0.0.1:9/erasures", "cannot be reached"),
    }[where]
    settings = Settings(
        database_url=empty_database,
        data_dir=tmp_path,
        kek=KEK,
        index_key=INDEX_KEY,
        token_key=bytes(32),
        erasure_log=location,
    )
    with pytest.raises(ErasureLogError, match=complaint) as refused:
        await restore_into(settings, backup)
    assert ":x@" not in str(refused.value)  # never the password
    target = await asyncpg.connect(empty_database)
    try:
        assert await target.fetchval("SELECT count(*) FROM events") == 0
    finally:
        await target.close()


async def test_the_service_never_prepares_its_erasure_log_in_a_ledger_database(database_url: str) -> None:
    with pytest.raises(ErasureLogError, match="holds a ledger"):
        await prepare_erasure_log(database_url)


async def test_a_prepared_log_reads_empty_then_every_erasure_once(
    unprepared_database: str, tmp_path: Path
) -> None:
    for location in (unprepared_database, str(tmp_path / "erasures.log")):
        log = await prepare_erasure_log(location)
        assert await log.erased() == []
        first, second = uuid.uuid4(), uuid.uuid4()
        for contact in (first, second, first):
            await log.record(contact)
        erased = await erasure_log(location).erased()
        assert erased[:2] == [first, second]
        await prepare_erasure_log(location)  # again, as every start does: nothing is lost
        assert set(await erasure_log(location).erased()) == {first, second}


async def test_a_damaged_erasure_file_is_refused(tmp_path: Path) -> None:
    log = FileErasureLog(tmp_path / "erasures.log")
    await log.record(uuid.uuid4())
    with log.path.open("a") as f:
        f.write("2026-01-01T00:00:00+00:00 not-a-contact-id\n")
    with pytest.raises(ErasureLogError, match="not a contact id"):
        await log.erased()
