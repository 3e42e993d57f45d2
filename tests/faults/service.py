"""A real `optin-ledger serve` process on a test database, and the faults a test does to it.

The database is taken away without restarting the (possibly shared) server: `ALLOW_CONNECTIONS
false` plus terminating its backends looks to the service like a server that went down; giving
connections back looks like it came up again.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from adapters.postgres.dsn import database_name
from adapters.postgres.pool import quote_ident
from adapters.settings import Settings
from api.commands.users import create_account
from ledger.vocabulary import Actor
from tests.api.test_serve import free_port

STAFF_EMAIL = "staff@example.org"
STAFF_PASSWORD = "correct horse battery staple"


@dataclass
class Service:
    """One `serve` process; its log (JSON lines) goes to `log`."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    settings: Settings
    token: str = ""
    stopped: bool = field(default=False)

    def lines(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text().splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                found.append({"event": line, "level": "raw"})
        return found

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def service_settings(dsn: str, data_dir: Path) -> tuple[Settings, dict[str, str]]:
    """Settings for the service and the same as environment variables for its process."""
    keys = {name: secrets.token_bytes(32) for name in ("kek", "index_key", "token_key", "signing_key")}
    settings = Settings(
        database_url=dsn,
        data_dir=data_dir,
        kek=keys["kek"],
        index_key=keys["index_key"],
        token_key=keys["token_key"],
        signing_key=keys["signing_key"],
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "OPTIN_"))}
    env.update(
        {
            "DATABASE_URL": dsn,
            "OPTIN_LOG_FORMAT": "json",
            "OPTIN_METRICS_PORT": "0",
            **{f"OPTIN_{name.upper()}": base64.b64encode(value).decode() for name, value in keys.items()},
        }
    )
    return settings, env


async def start_service(
    dsn: str, data_dir: Path, *, login_dsn: str | None = None, **extra_env: str
) -> Service:
    """A staff account, then `serve` on `dsn` (logging in with `login_dsn` when given), ready
    and logged in."""
    settings, env = service_settings(dsn, data_dir)
    if login_dsn:
        env["DATABASE_URL"] = login_dsn
    await create_account(settings, STAFF_EMAIL, "staff", STAFF_PASSWORD, Actor(kind="system", id="test"))
    service = spawn(data_dir, {**env, **extra_env}, settings)
    try:
        await until_ready(service)
        async with httpx.AsyncClient(base_url=service.url) as client:
            form = {"username": STAFF_EMAIL, "password": STAFF_PASSWORD}
            answer = await client.post("/v1/auth/token", data=form)
            assert answer.status_code == 200, answer.text
            service.token = answer.json()["access_token"]
    except BaseException:
        service.stop()
        raise
    return service


def spawn(data_dir: Path, env: dict[str, str], settings: Settings) -> Service:
    port = free_port()
    log = data_dir / "serve.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    with log.open("ab") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Service(proc, f"http://127.0.0.1:{port}", log, settings)


async def until_ready(service: Service, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=service.url, timeout=2) as client:
        while time.monotonic() < deadline:
            if service.proc.poll() is not None:
                raise AssertionError(
                    f"serve exited with {service.proc.returncode}:\n{service.log.read_text()}"
                )
            try:
                if (await client.get("/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"serve did not become ready:\n{service.log.read_text()}")


@dataclass
class DatabaseSwitch:
    """Takes the service's database away and gives it back, from the admin's connection."""

    admin_dsn: str
    dsn: str

    @property
    def name(self) -> str:
        return database_name(self.dsn)

    async def take_away(self) -> None:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f"ALTER DATABASE {quote_ident(self.name)} WITH ALLOW_CONNECTIONS false")
            await self.terminate(conn)
        finally:
            await conn.close()

    async def give_back(self) -> None:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f"ALTER DATABASE {quote_ident(self.name)} WITH ALLOW_CONNECTIONS true")
        finally:
            await conn.close()

    async def terminate(self, conn: asyncpg.Connection) -> int:
        """End every session on the database, as a server going down would."""
        return int(
            await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                self.name,
            )
        )


@dataclass
class LimitedLogin:
    """A login role of the test's own (a member of the service role) whose connections the test
    can limit: the server refuses it more sessions than `ALTER ROLE … CONNECTION LIMIT` allows."""

    admin_dsn: str
    dsn: str
    name: str = field(default_factory=lambda: f"optin_limited_{secrets.token_hex(4)}")
    password: str = field(default_factory=lambda: secrets.token_hex(12))

    @property
    def login_dsn(self) -> str:
        parts = urlsplit(self.dsn)
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, f"{self.name}:{self.password}@{host}", parts.path, parts.query, ""))

    async def __aenter__(self) -> LimitedLogin:
        await self._admin(
            f"CREATE ROLE {quote_ident(self.name)} LOGIN PASSWORD '{self.password}'",
            f"GRANT optin_app TO {quote_ident(self.name)}",
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", self.name
            )
            for _attempt in range(50):  # a terminated session may take a moment to go
                if not await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", self.name
                ):
                    break
                await asyncio.sleep(0.1)
            await conn.execute(f"DROP ROLE {quote_ident(self.name)}")
        finally:
            await conn.close()

    async def sessions(self) -> int:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            return int(
                await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE usename = $1", self.name)
            )
        finally:
            await conn.close()

    async def limit(self, connections: int) -> None:
        await self._admin(f"ALTER ROLE {quote_ident(self.name)} CONNECTION LIMIT {int(connections)}")

    async def _admin(self, *statements: str) -> None:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()
