"""`check`: can the service use its database, its SMTP server and its SMS account as configured?

Each check says what works or what is wrong and which setting to change; the command exits 1 if
anything is wrong. It changes nothing (no migration, no message). `serve` and `worker` run the
SMTP part once at start: a configuration error there stops them with the same sentence, rather
than letting every email retry for hours against a server that will never take it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog

from adapters.crypto.data_keys import KeyEncryptionKeyError, KeyWrapper
from adapters.email.smtp import smtp_sender
from adapters.email.smtp_errors import SmtpSetupError
from adapters.postgres.migrations import available
from adapters.settings import Settings, SettingsError
from adapters.sms.twilio import SmsSetupError, TwilioSender
from api.commands.runtime import prepare
from api.senders import sms_http_client

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Finding:
    part: str
    ok: bool
    says: str


def check(data_dir: Path | None) -> int:
    settings = prepare(data_dir)
    findings = asyncio.run(run_checks(settings))
    for f in findings:
        print(f"{f.part:<9} {'ok' if f.ok else 'PROBLEM':<8} {f.says}")
    return 0 if all(f.ok for f in findings) else 1


async def run_checks(settings: Settings) -> list[Finding]:
    return [await check_database(settings), await check_email(settings), await check_sms(settings)]


async def check_database(settings: Settings) -> Finding:
    assert settings.database_url
    try:
        conn = await asyncpg.connect(settings.database_url, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as e:
        return Finding("database", False, f"cannot connect with DATABASE_URL: {type(e).__name__}: {e}")
    try:
        version = str(await conn.fetchval("SHOW server_version"))
        if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
            return Finding("database", False, f"PostgreSQL {version}, not migrated: run optin-ledger migrate")
        done = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        missing = [m.version for m in available() if m.version not in done]
        if missing:
            return Finding("database", False, f"PostgreSQL {version}, migrations not applied: {missing}")
        row = await conn.fetchrow("SELECT wrapped, kek_id FROM contact_keys LIMIT 1")
        if row is not None and settings.kek is not None:
            KeyWrapper(settings.kek).unwrap(bytes(row["wrapped"]), row["kek_id"])
    except KeyEncryptionKeyError as e:
        return Finding("database", False, f"OPTIN_KEK does not open the stored data keys: {e}")
    except asyncpg.PostgresError as e:
        return Finding("database", False, f"{type(e).__name__}: {e}")
    finally:
        await conn.close()
    return Finding(
        "database", True, f"PostgreSQL {version}, migrations applied, OPTIN_KEK opens the data keys"
    )


async def check_email(settings: Settings) -> Finding:
    sender = smtp_sender(settings)
    if sender is None:
        return Finding("email", True, "no OPTIN_SMTP_HOST: email goes to the dev outbox")
    try:
        return Finding("email", True, await sender.probe())
    except SmtpSetupError as e:
        return Finding("email", False, str(e))


async def check_sms(settings: Settings) -> Finding:
    if not settings.sms_account_sid:
        return Finding("sms", True, "no OPTIN_SMS_ACCOUNT_SID: text messages go to the dev outbox")
    if not (settings.sms_auth_token and settings.sms_from):
        return Finding("sms", False, "OPTIN_SMS_ACCOUNT_SID needs OPTIN_SMS_AUTH_TOKEN and OPTIN_SMS_FROM")
    async with sms_http_client(settings) as http:
        sender = TwilioSender(
            http,
            account_sid=settings.sms_account_sid,
            auth_token=settings.sms_auth_token,
            sender=settings.sms_from,
            status_callback=None,
        )
        try:
            return Finding("sms", True, await sender.probe())
        except SmsSetupError as e:
            return Finding("sms", False, str(e))


def probe_email_at_start(settings: Settings) -> None:
    """Stop (`SettingsError`) on an SMTP configuration error; log a server that is only down."""
    sender = smtp_sender(settings)
    if sender is None:
        return
    try:
        log.info("email.ready", server=asyncio.run(sender.probe()))
    except SmtpSetupError as e:
        if e.fatal:
            raise SettingsError(f"the email channel is misconfigured: {e}") from None
        log.error("email.unavailable_at_start", problem=str(e))
