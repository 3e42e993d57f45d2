"""Staff credentials kept out of the ledger on purpose: the email lookup, password hashes, key use.

The lookup maps a keyed hash of the email to the user, under a unique constraint, so two accounts
for one email cannot both be created, whatever the timing. Password hashes are argon2id strings
(made by the API layer); the ledger records only that a password changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from adapters.postgres.staff_emails import StaffEmails
from ledger.errors import ConflictError


class PostgresCredentials:
    """The mutable credential tables of migration 020, on an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, emails: StaffEmails | None = None) -> None:
        self._pool = pool
        self._emails = emails

    async def claim_email(
        self, email_index: bytes, user_id: UUID, password_hash: str | None, email: str | None = None
    ) -> None:
        """Reserve the email for `user_id` (and store its password hash, and the email itself for
        admins to read), or `ConflictError`."""
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(
                    "INSERT INTO user_logins (email_index, user_id) VALUES ($1, $2)", email_index, user_id
                )
            except asyncpg.UniqueViolationError as e:
                raise ConflictError("a user with this email already exists") from e
            if password_hash is not None:
                await conn.execute(
                    "INSERT INTO user_credentials (user_id, password_hash) VALUES ($1, $2)",
                    user_id,
                    password_hash,
                )
            if email is not None and self._emails is not None:
                await self._emails.remember(conn, user_id, email)

    async def release_email(self, user_id: UUID) -> None:
        """Undo `claim_email` when the account's first event could not be written."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM user_credentials WHERE user_id = $1", user_id)
            if self._emails is not None:
                await self._emails.forget(conn, user_id)
            await conn.execute("DELETE FROM user_logins WHERE user_id = $1", user_id)

    async def any_user(self) -> bool:
        return bool(await self._pool.fetchval("SELECT EXISTS (SELECT FROM user_logins)"))

    async def login(self, email_index: bytes) -> tuple[UUID, str | None] | None:
        """The user with this email and its password hash (None: the account has no password)."""
        row = await self._pool.fetchrow(
            "SELECT l.user_id, c.password_hash FROM user_logins l "
            "LEFT JOIN user_credentials c ON c.user_id = l.user_id WHERE l.email_index = $1",
            email_index,
        )
        return None if row is None else (row["user_id"], row["password_hash"])

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        await self._pool.execute(
            "INSERT INTO user_credentials (user_id, password_hash) VALUES ($1, $2) "
            "ON CONFLICT (user_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, changed_at = now()",
            user_id,
            password_hash,
        )

    async def touch_api_key(self, key_id: UUID, when: datetime) -> None:
        await self._pool.execute(
            "INSERT INTO api_key_usage (key_id, last_used_at) VALUES ($1, $2) "
            "ON CONFLICT (key_id) DO UPDATE SET last_used_at = greatest(api_key_usage.last_used_at, $2)",
            key_id,
            when,
        )

    async def end_console_session(self, session_id: str, *, forget_after: timedelta) -> None:
        """Record a logged-out console session; forget those no token can outlive any more."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO console_logouts (session_id) VALUES ($1) ON CONFLICT DO NOTHING", session_id
            )
            await conn.execute(
                "DELETE FROM console_logouts WHERE ended_at < now() - $1::interval", forget_after
            )

    async def console_session_ended(self, session_id: str) -> bool:
        return bool(
            await self._pool.fetchval(
                "SELECT EXISTS (SELECT FROM console_logouts WHERE session_id = $1)", session_id
            )
        )
