"""Staff email addresses in full, for admins: sealed at rest, read back by user id.

The key is derived from `OPTIN_INDEX_KEY`, the secret the login lookup already depends on (it is
never rotated: rotating it would orphan every login), so the table alone, or a backup, shows
nothing but ciphertext. Never logged: only admins' pages and answers read it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection
from uuid import UUID

import asyncpg
import nacl.exceptions
import nacl.secret

from adapters.postgres.pool import Connection


class StaffEmails:
    """The `staff_emails` table (migration 090)."""

    def __init__(self, pool: asyncpg.Pool, index_key: bytes | None) -> None:
        self._pool = pool
        seed = hmac.new(index_key or b"", b"optin-ledger/staff-email", hashlib.sha256).digest()
        self._box = nacl.secret.SecretBox(seed) if index_key else None

    async def remember(self, conn: Connection, user_id: UUID, email: str) -> None:
        """Keep the account's email (in the caller's transaction); no key configured: nothing."""
        if self._box is None:
            return
        await conn.execute(
            "INSERT INTO staff_emails (user_id, sealed) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
            user_id,
            self._box.encrypt(email.encode()),
        )

    async def forget(self, conn: Connection, user_id: UUID) -> None:
        await conn.execute("DELETE FROM staff_emails WHERE user_id = $1", user_id)

    async def emails(self, user_ids: Collection[UUID]) -> dict[UUID, str]:
        """The emails of those accounts that have one on file (and that this key opens)."""
        if self._box is None or not user_ids:
            return {}
        rows = await self._pool.fetch(
            "SELECT user_id, sealed FROM staff_emails WHERE user_id = ANY($1::uuid[])", list(user_ids)
        )
        found = {}
        for row in rows:
            try:
                found[row["user_id"]] = self._box.decrypt(bytes(row["sealed"])).decode()
            except nacl.exceptions.CryptoError:
                continue  # sealed under another key (a restore with other secrets): not shown
        return found
