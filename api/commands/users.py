"""`users create`: make a staff account from the command line (the first admin included),
and the demo admin that `serve` creates on the embedded demo database."""

from __future__ import annotations

import asyncio
import getpass
import secrets
import sys
from pathlib import Path
from typing import TextIO

import structlog

from adapters.postgres.credentials import PostgresCredentials
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool
from adapters.settings import Settings
from api.auth.principal import Role
from api.commands.runtime import prepare
from api.composition import compose
from ledger.errors import DomainError
from ledger.vocabulary import Actor

log = structlog.get_logger(__name__)

DEMO_ADMIN_EMAIL = "admin@optin-ledger.demo"
_CLI = Actor(kind="system", id="cli")


def read_password(password_stdin: bool, stdin: TextIO | None = None) -> str | None:
    """The password from standard input (one line), or asked twice on a terminal; None if neither."""
    stdin = stdin or sys.stdin
    if password_stdin:
        return stdin.readline().rstrip("\r\n")
    if not stdin.isatty():
        return None
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        print("optin-ledger: the passwords differ", file=sys.stderr)
        return None
    return first


async def create_account(
    settings: Settings, email: str, role: Role, password: str | None, actor: Actor
) -> str:
    """Create the account and bring the users read model up to date, so it can log in at once."""
    assert settings.database_url
    await migrate(settings.database_url)
    pool = await create_pool(settings.database_url, role=settings.db_role, min_size=1, max_size=4)
    parts = compose(settings, pool, follow=False)
    try:
        user, _ = await parts.accounts.create(email=email, role=role, password=password, actor=actor)
        return str(user.id)
    finally:
        await parts.close()
        await pool.close()


def create(email: str, role: Role, password_stdin: bool, data_dir: Path | None) -> int:
    password = read_password(password_stdin)
    if password is None and role != "service":
        print("optin-ledger: give the password on standard input with --password-stdin", file=sys.stderr)
        return 2
    settings = prepare(data_dir)
    try:
        user_id = asyncio.run(create_account(settings, email, role, password, _CLI))
    except DomainError as e:
        print(f"optin-ledger: {e}", file=sys.stderr)
        return 1
    print(f"created {role} user {user_id}")
    return 0


async def ensure_demo_admin(settings: Settings) -> str | None:
    """On a demo database with no account yet, create an admin; return its one-time password."""
    assert settings.database_url
    pool = await create_pool(settings.database_url, role=settings.db_role, min_size=1, max_size=2)
    try:
        if await PostgresCredentials(pool).any_user():
            return None
    finally:
        await pool.close()
    password = secrets.token_urlsafe(18)
    await create_account(settings, DEMO_ADMIN_EMAIL, "admin", password, Actor(kind="system", id="demo"))
    return password
