"""`optin-ledger users create`: the first admin from the command line, then a login over HTTP."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.settings import Settings

pytestmark = pytest.mark.integration

PASSWORD = "granite-puffin-orchard-63"


def cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "OPTIN_"))}
    assert settings.database_url
    assert settings.kek
    assert settings.index_key
    assert settings.token_key
    env |= {
        "DATABASE_URL": settings.database_url,
        "OPTIN_KEK": base64.b64encode(settings.kek).decode(),
        "OPTIN_INDEX_KEY": base64.b64encode(settings.index_key).decode(),
        "OPTIN_TOKEN_KEY": base64.b64encode(settings.token_key).decode(),
        "OPTIN_LOG_FORMAT": "json",
    }
    return env


async def run_cli(settings: Settings, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "api.cli", "users", "create", *args]
    return await asyncio.to_thread(
        subprocess.run,
        command,
        input=stdin,
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_users_create_reads_the_password_from_stdin_and_the_user_can_log_in(
    client: AsyncTestClient[Litestar], settings: Settings
) -> None:
    email = "first.admin@staff.example.org"
    done = await run_cli(
        settings, "--role", "admin", "--email", email, "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert done.returncode == 0, done.stderr
    assert "created admin user" in done.stdout
    for stream in (done.stdout, done.stderr):
        assert PASSWORD not in stream
        assert email not in stream
    token = await client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text

    again = await run_cli(settings, "--role", "staff", "--email", email, "--password-stdin", stdin=PASSWORD)
    assert again.returncode == 1
    assert "already exists" in again.stderr


async def test_users_create_refuses_weak_or_missing_passwords(settings: Settings) -> None:
    weak = await run_cli(
        settings,
        "--role",
        "staff",
        "--email",
        "w@staff.example.org",
        "--password-stdin",
        stdin="qwerty123456\n",
    )
    assert weak.returncode == 1
    assert "too common" in weak.stderr
    assert "qwerty123456" not in weak.stderr + weak.stdout
    no_tty = await run_cli(settings, "--role", "staff", "--email", "n@staff.example.org", stdin="")
    assert no_tty.returncode == 2
    assert "--password-stdin" in no_tty.stderr
