"""Browser tests: the real service (`optin-ledger serve`) on its own PostgreSQL database, driven by
Debian's Chromium through Playwright.

They skip, saying why, only when no Chromium is installed; `.ci/run` installs it. The server's
whole output is searched for the addresses the tests used, like the session's own log.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from nacl.pwhash.argon2id import MEMLIMIT_MIN, OPSLIMIT_MIN
from playwright.async_api import Browser, Page, async_playwright

from adapters.postgres.pool import create_pool
from adapters.settings import Settings
from api.auth.passwords import PasswordHasher
from api.auth.principal import Role
from api.auth.tokens import issue_staff_token
from api.composition import Components, compose
from ledger.vocabulary import SYSTEM
from projections.runner import wait_for_position
from tests import pii
from tests.api.test_serve import free_port, stop, wait_healthy
from tests.conftest import LOG_OUTPUT, migrated_database

CHROMIUM = os.environ.get("OPTIN_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser-kestrel-orchard-81"

pytestmark = pytest.mark.integration


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if shutil.which(CHROMIUM) is None:
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
        for item in items:
            if "tests/browser/" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


@dataclass(frozen=True)
class Server:
    url: str
    dsn: str
    settings: Settings


@pytest.fixture(scope="session")
async def server_database(admin_dsn: str, template_database: str) -> AsyncIterator[str]:
    async with migrated_database(admin_dsn, template_database, "optin_browser") as dsn:
        yield dsn


@pytest.fixture(scope="session")
def server(server_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`optin-ledger serve` in a subprocess, with `Secure` cookies as in production."""
    keys = {name: secrets.token_bytes(32) for name in ("kek", "index_key", "token_key")}
    port, data_dir = free_port(), tmp_path_factory.mktemp("browser-serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "OPTIN_"))}
    env.update(
        DATABASE_URL=server_database,
        OPTIN_KEK=base64.b64encode(keys["kek"]).decode(),
        OPTIN_INDEX_KEY=base64.b64encode(keys["index_key"]).decode(),
        OPTIN_TOKEN_KEY=base64.b64encode(keys["token_key"]).decode(),
        OPTIN_LOG_FORMAT="json",
        OPTIN_METRICS_PORT="0",
        OPTIN_PUBLIC_URL=f"http://localhost:{port}",
    )
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    try:
        wait_healthy(url, proc)
        settings = Settings(
            database_url=server_database,
            data_dir=data_dir,
            kek=keys["kek"],
            index_key=keys["index_key"],
            token_key=keys["token_key"],
        )
        yield Server(url, server_database, settings)
    finally:
        output = stop(proc)
        LOG_OUTPUT.write(output)  # the session's leak check reads the server's lines too
        leaked = pii.leaks(output)
        assert not leaked, f"the server logged {len(leaked)} plaintext address(es)"
        assert "Traceback" not in output, output[-3000:]


@pytest.fixture(scope="session")
async def server_pool(server: Server) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(server.dsn, role="optin_app", min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def accounts(server: Server, server_pool: asyncpg.Pool) -> Components:
    return compose(server.settings, server_pool, hasher=PasswordHasher(OPSLIMIT_MIN, MEMLIMIT_MIN))


@dataclass(frozen=True)
class Staff:
    email: str
    password: str
    headers: dict[str, str]


NewStaff = Callable[[Role], Awaitable[Staff]]


@pytest.fixture(scope="session")
def new_staff(accounts: Components, server: Server, server_pool: asyncpg.Pool) -> NewStaff:
    """`await new_staff("admin")`: a fresh account with a password, and its API header."""

    async def make(role: Role) -> Staff:
        email = f"{role}-{uuid.uuid4().hex[:8]}@staff.example.org"
        user, position = await accounts.accounts.create(
            email=email, role=role, password=PASSWORD, actor=SYSTEM
        )
        await wait_for_position(server_pool, position, ["users"])
        token = issue_staff_token(server.settings.token_key, user.id)
        return Staff(email, PASSWORD, {"Authorization": f"Bearer {token}"})

    return make


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def api(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"


@pytest.fixture
async def tab(browser: Browser, server: Server) -> AsyncIterator[Page]:
    """A page in a new context (no cookies); fails the test if the page logs a CSP violation."""
    context = await browser.new_context(base_url=server.url)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page
    await context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
