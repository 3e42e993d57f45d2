"""The service logging in as its own role, as the Helm chart configures it: no owner rights to
`RESET ROLE` back to, so it may not migrate; it checks that the owner has, and says so if not.
And the heartbeat the chart's projector and worker probes read."""

from __future__ import annotations

import asyncio
import http.server
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from adapters.heartbeat import beating, main
from adapters.postgres.migrations import MigrationError, migrate
from adapters.postgres.pool import settings_pool
from adapters.settings import Settings

pytestmark = pytest.mark.integration


def as_login(dsn: str, user: str, password: str) -> str:
    parts = urlsplit(dsn)
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, f"{user}:{password}@{host}", parts.path, parts.query, parts.fragment))


@pytest.fixture
async def service_login(database_url: str) -> AsyncIterator[str]:
    """A LOGIN role with exactly optin_app's rights (the chart's managed role); yields its DSN."""
    name, password = f"optin_svc_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f"CREATE ROLE {name} LOGIN INHERIT PASSWORD '{password}' IN ROLE optin_app")
        yield as_login(database_url, name, password)
    finally:
        await admin.execute(f"DROP ROLE IF EXISTS {name}")
        await admin.close()


async def test_the_service_role_checks_the_schema_instead_of_migrating(
    service_login: str, database_url: str
) -> None:
    assert await migrate(service_login) == []  # everything applied: it starts
    conn = await asyncpg.connect(service_login)
    try:
        assert await conn.fetchval("SELECT has_schema_privilege(current_schema(), 'CREATE')") is False
    finally:
        await conn.close()
    admin = await asyncpg.connect(database_url)
    try:
        row = await admin.fetchrow("SELECT * FROM schema_migrations ORDER BY version DESC LIMIT 1")
        assert row is not None
        await admin.execute("DELETE FROM schema_migrations WHERE version = $1", row["version"])
        with pytest.raises(MigrationError, match=f"lacks migrations {row['version']}.*as the database owner"):
            await migrate(service_login)
        # the owner applies it (here: records it again, as migrations are not all re-runnable)
        await admin.execute(
            f"INSERT INTO schema_migrations ({', '.join(row.keys())}) "
            f"VALUES ({', '.join(f'${n + 1}' for n in range(len(row)))})",
            *row.values(),
        )
        assert await migrate(service_login) == []  # then it starts again
    finally:
        await admin.close()


async def test_a_settings_pool_takes_its_sizes_and_statement_cache_from_the_settings(
    service_login: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=service_login,
        data_dir=tmp_path,
        db_role=None,
        db_pool_min=1,
        db_pool_max=3,
        db_statement_cache=0,
    )
    pool = await settings_pool(settings, min_size=2, max_size=20)
    try:
        assert (pool.get_min_size(), pool.get_max_size()) == (1, 3)
        assert await pool.fetchval("SELECT current_user") == urlsplit(service_login).username
    finally:
        await pool.close()


async def test_the_heartbeat_says_live_without_the_database_and_ready_only_with_it(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    probe = ["--dir", str(tmp_path), "--within", "2"]
    assert main(["live", *probe]) == 1  # nothing beats yet
    async with beating(pool, tmp_path, every=0.1):
        await asyncio.sleep(0.3)
        assert main(["live", *probe]) == 0
        assert main(["ready", *probe]) == 0
    unreachable = await asyncpg.create_pool("postgresql://nobody:x@127.0.0.1:9/none", min_size=0)
    ready = tmp_path / "ready"
    ready.unlink()
    async with beating(unreachable, tmp_path, every=0.1):
        await asyncio.sleep(0.3)
        assert main(["live", *probe]) == 0  # liveness never depends on the database
        assert main(["ready", *probe]) == 1
    await unreachable.close()


def test_the_image_healthcheck_asks_http_where_no_heartbeat_is_kept(tmp_path: Path) -> None:
    """`serve` keeps no heartbeat file: the same probe then asks its /health over HTTP."""

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 503)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert main(["live", "--dir", str(tmp_path), "--http", f"{base}/health"]) == 0
        assert main(["live", "--dir", str(tmp_path), "--http", f"{base}/ready"]) == 1
        assert main(["live", "--dir", str(tmp_path), "--http", "http://127.0.0.1:9/health"]) == 1
    finally:
        server.shutdown()
