"""The app on a real streaming pair: its primary is `DATABASE_URL`, its hot standby
`DATABASE_READ_URL` (tests/replica/streaming.py makes both once per session).

Without PostgreSQL 15's binaries (or, as root, the `postgres` user) these tests skip and say why;
`.ci/run` sets OPTIN_REPLICA_TESTS=required, which turns that skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import msgspec
import pytest

from adapters.postgres.dsn import with_database
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import quote_ident
from adapters.postgres.replica_settings import ReadReplicaSettings
from adapters.settings import Settings
from tests.api.conftest import app, app_settings, as_admin, auth_headers, auth_services, client
from tests.conftest import drop_database
from tests.replica.streaming import Cluster, StreamingPair, unavailable

__all__ = ["app", "as_admin", "auth_headers", "auth_services", "client"]

REPLICA = ReadReplicaSettings(url="", wait_seconds=1.5, max_lag_seconds=3.0, check_seconds=0.1)
"""Bounds short enough for lagging and recovering to take seconds, long enough for a busy machine."""


def _cannot(reason: str) -> None:
    if os.environ.get("OPTIN_REPLICA_TESTS") == "required":
        pytest.fail(f"the replica tests are required here, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def streaming_pair() -> Iterator[StreamingPair]:
    reason = unavailable()
    if reason:
        _cannot(reason)
    StreamingPair.reap()
    pair = StreamingPair()
    try:
        pair.create()
    except (RuntimeError, subprocess.SubprocessError) as e:
        logs = f"{pair.primary.log_tail()}\n{pair.replica.log_tail()}"
        pair.destroy()
        _cannot(f"could not make a primary and a streaming replica: {e}\n{logs}")
    yield pair
    pair.destroy()


@pytest.fixture(scope="session")
async def replica_template(streaming_pair: StreamingPair) -> str:
    """A migrated database on the primary that each test's database is copied from."""
    name = "optin_replica_template"
    conn = await asyncpg.connect(streaming_pair.primary.dsn())
    try:
        await conn.execute(f"CREATE DATABASE {quote_ident(name)}")
    finally:
        await conn.close()
    await migrate(streaming_pair.primary.dsn(name))
    return name


@pytest.fixture
async def database_url(streaming_pair: StreamingPair, replica_template: str) -> AsyncIterator[str]:
    """A fresh migrated database on the primary, already replayed on the replica."""
    name = f"optin_replica_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(streaming_pair.primary.dsn())
    try:
        await admin.execute(f"CREATE DATABASE {quote_ident(name)} TEMPLATE {quote_ident(replica_template)}")
        await _until_replayed(streaming_pair.replica, name)
        yield streaming_pair.primary.dsn(name)
        await drop_database(admin, name)
    finally:
        await admin.close()


async def _until_replayed(replica: Cluster, database: str) -> None:
    for _ in range(100):
        try:
            conn = await asyncpg.connect(replica.dsn(database))
        except asyncpg.InvalidCatalogNameError:
            await asyncio.sleep(0.1)
            continue
        await conn.close()
        return
    raise TimeoutError(f"the replica has not replayed CREATE DATABASE {database} in 10 s")


@pytest.fixture
def replica_url(streaming_pair: StreamingPair, database_url: str) -> str:
    return with_database(streaming_pair.replica.dsn(), database_url.rsplit("/", 1)[1])


@pytest.fixture
def replica_check_seconds() -> float:
    """How often the app checks the replica (a test parametrizes it to leave failures to queries)."""
    return REPLICA.check_seconds


@pytest.fixture
def settings(database_url: str, replica_url: str, replica_check_seconds: float, tmp_path: Path) -> Settings:
    replica = msgspec.structs.replace(REPLICA, url=replica_url, check_seconds=replica_check_seconds)
    return msgspec.structs.replace(app_settings(database_url, tmp_path), read_replica=replica)


class ReplicaControl:
    """Pause and resume replay, stop and start the replica; `restore()` undoes whatever is left."""

    def __init__(self, replica: Cluster) -> None:
        self.replica = replica
        self.paused = self.stopped = False

    async def _superuser(self, sql: str) -> None:
        conn = await asyncpg.connect(self.replica.dsn())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def pause(self) -> None:
        await self._superuser("SELECT pg_wal_replay_pause()")
        self.paused = True

    async def resume(self) -> None:
        await self._superuser("SELECT pg_wal_replay_resume()")
        self.paused = False

    async def stop(self) -> None:
        await asyncio.to_thread(self.replica.stop, "fast")
        self.stopped = True

    async def start(self) -> None:
        await asyncio.to_thread(self.replica.start)
        self.stopped = False

    async def restore(self) -> None:
        if self.stopped:
            await self.start()
        if self.paused:
            await self.resume()


@pytest.fixture
async def replica_control(streaming_pair: StreamingPair) -> AsyncIterator[ReplicaControl]:
    control = ReplicaControl(streaming_pair.replica)
    yield control
    await control.restore()
