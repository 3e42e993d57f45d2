"""Per-contact data keys in PostgreSQL, wrapped (SecretBox) by the key-encryption key (KEK).

Rows name the KEK that wrapped them by a short fingerprint, so a rotation can re-wrap them all
under a new KEK without touching a single event, and a wrong KEK is reported, not mistaken for
an erased contact.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from uuid import UUID

import asyncpg
import nacl.exceptions
import nacl.secret

from adapters.crypto.nonces import nonce
from adapters.postgres.pool import Connection


class KeyEncryptionKeyError(RuntimeError):
    """A data key was wrapped by another KEK than the one configured."""


def kek_id(kek: bytes) -> str:
    """A fingerprint that names a KEK without revealing it."""
    return hashlib.sha256(b"optin-ledger kek id\x00" + kek).hexdigest()[:16]


class KeyWrapper:
    """Wraps and unwraps data keys with one KEK."""

    def __init__(self, kek: bytes) -> None:
        self._box = nacl.secret.SecretBox(kek)
        self.kek_id = kek_id(kek)

    def wrap(self, key: bytes) -> bytes:
        return bytes(self._box.encrypt(key, nonce()))

    def unwrap(self, wrapped: bytes, wrapped_by: str) -> bytes:
        if wrapped_by != self.kek_id:
            raise KeyEncryptionKeyError(
                f"data keys are wrapped by KEK {wrapped_by}, not by the configured {self.kek_id}"
            )
        try:
            return bytes(self._box.decrypt(wrapped))
        except nacl.exceptions.CryptoError as e:
            raise KeyEncryptionKeyError("a data key does not unwrap with the configured KEK") from e


async def fetch_keys(
    conn: asyncpg.Pool | Connection, wrapper: KeyWrapper, contact_ids: Sequence[UUID]
) -> dict[UUID, bytes]:
    """The data keys of those contacts that still have one (on a pool or inside a transaction)."""
    rows = await conn.fetch(
        "SELECT contact_id, wrapped, kek_id FROM contact_keys WHERE contact_id = ANY($1)",
        list(contact_ids),
    )
    return {r["contact_id"]: wrapper.unwrap(r["wrapped"], r["kek_id"]) for r in rows}


class PostgresDataKeys:
    """`ledger.ports.DataKeys` on the `contact_keys` table."""

    def __init__(self, pool: asyncpg.Pool, kek: bytes) -> None:
        self._pool = pool
        self._wrapper = KeyWrapper(kek)

    async def create(self, contact_id: UUID) -> bytes:
        key = secrets.token_bytes(32)
        made = await self._pool.fetchval(
            "INSERT INTO contact_keys (contact_id, wrapped, kek_id) VALUES ($1, $2, $3) "
            "ON CONFLICT (contact_id) DO NOTHING RETURNING true",
            contact_id,
            self._wrapper.wrap(key),
            self._wrapper.kek_id,
        )
        if made:  # ours is the key (one round trip); else the one already there (a racer's)
            return key
        kept = await self.get(contact_id)
        assert kept is not None
        return kept

    async def get(self, contact_id: UUID) -> bytes | None:
        return (await self.get_many([contact_id])).get(contact_id)

    async def get_many(self, contact_ids: Sequence[UUID]) -> dict[UUID, bytes]:
        return await fetch_keys(self._pool, self._wrapper, contact_ids)

    async def delete(self, contact_id: UUID) -> None:
        await self._pool.execute("DELETE FROM contact_keys WHERE contact_id = $1", contact_id)


async def rewrap_all(pool: asyncpg.Pool, old_kek: bytes, new_kek: bytes) -> int:
    """Re-wrap every data key from `old_kek` to `new_kek` in one transaction; return the count.

    Keys already under `new_kek` are left alone, so an interrupted rotation can simply be re-run.
    """
    old, new = nacl.secret.SecretBox(old_kek), nacl.secret.SecretBox(new_kek)
    old_id, new_id = kek_id(old_kek), kek_id(new_kek)
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT contact_id, wrapped, kek_id FROM contact_keys WHERE kek_id <> $1 FOR UPDATE",
            new_id,
        )
        strangers = {r["kek_id"] for r in rows} - {old_id}
        if strangers:
            raise KeyEncryptionKeyError(
                f"some keys are wrapped by unknown KEKs {sorted(strangers)}; nothing was changed"
            )
        rewrapped = [(r["contact_id"], bytes(new.encrypt(old.decrypt(r["wrapped"])))) for r in rows]
        await conn.executemany(
            "UPDATE contact_keys SET wrapped = $2, kek_id = $3 WHERE contact_id = $1",
            [(cid, wrapped, new_id) for cid, wrapped in rewrapped],
        )
    return len(rewrapped)
