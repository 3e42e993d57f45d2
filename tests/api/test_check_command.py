"""`optin-ledger check` against the real things: PostgreSQL, an SMTP server (aiosmtpd) and an HTTP
server speaking Twilio's API. All well: exit 0 and one `ok` line each. Anything wrong: exit 1 and
a line naming the setting to change."""

from __future__ import annotations

import asyncio
import base64
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import trustme

from adapters.crypto.data_keys import PostgresDataKeys
from adapters.postgres.dsn import with_database
from adapters.settings import Settings
from tests.api.test_users_cli import cli_env
from tests.conftest import drop_database
from tests.fakes.smtp import PASSWORD, USERNAME, smtp_server
from tests.fakes.twilio import NUMBER, SID, TOKEN, Provider, twilio_server

pytestmark = pytest.mark.integration


@pytest.fixture
def smtp_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    for _, port in smtp_server("starttls", context):
        yield {
            "OPTIN_SMTP_HOST": "127.0.0.1", "OPTIN_SMTP_PORT": str(port), "OPTIN_SMTP_CA_FILE": str(bundle),
            "OPTIN_SMTP_USERNAME": USERNAME, "OPTIN_SMTP_PASSWORD": PASSWORD,
        }  # fmt: skip


@pytest.fixture
def provider_and_url() -> Iterator[tuple[Provider, str]]:
    yield from twilio_server()


@pytest.fixture
def env(
    settings: Settings, smtp_env: dict[str, str], provider_and_url: tuple[Provider, str], tmp_path: Path
) -> dict[str, str]:
    sms = {"OPTIN_SMS_API_URL": provider_and_url[1], "OPTIN_SMS_ACCOUNT_SID": SID,
           "OPTIN_SMS_AUTH_TOKEN": TOKEN, "OPTIN_SMS_FROM": NUMBER}  # fmt: skip
    return cli_env(settings) | smtp_env | sms | {"OPTIN_DATA_DIR": str(tmp_path)}


async def a_data_key(pool: asyncpg.Pool, settings: Settings) -> None:
    """A contact's data key, wrapped by the service's KEK, for the check to open."""
    assert settings.kek
    await PostgresDataKeys(pool, settings.kek).create(uuid.uuid4())


async def check(env: dict[str, str]) -> tuple[int, dict[str, str]]:
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "api.cli", "check"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    return done.returncode, lines


async def test_all_well_says_ok_for_each_part(
    env: dict[str, str], pool: asyncpg.Pool, settings: Settings
) -> None:
    await a_data_key(pool, settings)
    code, lines = await check(env)
    assert code == 0, lines
    assert set(lines) == {"database", "email", "sms"}
    assert all(" ok " in line for line in lines.values()), lines
    assert "logged in as mailer" in lines["email"] and "(active)" in lines["sms"]


async def test_each_wrong_setting_is_named_and_the_exit_code_says_so(
    env: dict[str, str], pool: asyncpg.Pool, settings: Settings
) -> None:
    await a_data_key(pool, settings)
    wrong = env | {
        "OPTIN_SMTP_PASSWORD": "not-the-password",
        "OPTIN_SMS_AUTH_TOKEN": "not-the-token",
        "OPTIN_KEK": base64.b64encode(bytes(range(1, 33))).decode(),
    }
    code, lines = await check(wrong)
    assert code == 1
    assert (
        "PROBLEM" in lines["database"] and "OPTIN_KEK does not open the stored data keys" in lines["database"]
    )
    assert (
        "PROBLEM" in lines["email"] and "check OPTIN_SMTP_USERNAME and OPTIN_SMTP_PASSWORD" in lines["email"]
    )
    assert (
        "PROBLEM" in lines["sms"] and "refused OPTIN_SMS_ACCOUNT_SID / OPTIN_SMS_AUTH_TOKEN" in lines["sms"]
    )
    assert "20003" in lines["sms"]  # the provider's own error code


async def test_a_suspended_account_an_unmigrated_database_or_a_half_set_sms_account(
    env: dict[str, str], provider_and_url: tuple[Provider, str], admin_dsn: str
) -> None:
    provider_and_url[0].account_status = "suspended"
    code, lines = await check(env)
    assert code == 1 and "the SMS account is suspended, not active" in lines["sms"]
    name = f"optin_empty_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
        code, lines = await check(
            env | {"DATABASE_URL": with_database(admin_dsn, name), "OPTIN_SMS_FROM": ""}
        )
    finally:
        await drop_database(conn, name)
        await conn.close()
    assert code == 1
    assert "not migrated: run optin-ledger migrate" in lines["database"]
    assert "needs OPTIN_SMS_AUTH_TOKEN and OPTIN_SMS_FROM" in lines["sms"]
