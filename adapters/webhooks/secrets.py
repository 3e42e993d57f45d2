"""Webhook signing secrets in PostgreSQL, wrapped by the KEK; never in the ledger.

An endpoint has one current secret and, after a rotation, the previous one until its overlap
ends: every delivery is signed by each secret still in force (Standard Webhooks allows several
signatures in one header), so a receiver can switch secrets without a missed delivery.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from adapters.crypto.data_keys import KeyWrapper


class WebhookSecrets:
    def __init__(self, pool: asyncpg.Pool, kek: bytes) -> None:
        self._pool = pool
        self._wrapper = KeyWrapper(kek)

    async def store(self, endpoint_id: UUID, secret_id: UUID, raw: bytes) -> None:
        await self._pool.execute(
            "INSERT INTO webhook_secrets (secret_id, endpoint_id, wrapped, kek_id) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (secret_id) DO NOTHING",
            secret_id,
            endpoint_id,
            self._wrapper.wrap(raw),
            self._wrapper.kek_id,
        )

    async def retire(self, secret_id: UUID, at: datetime) -> None:
        """The secret signs until `at`, then no more."""
        await self._pool.execute(
            "UPDATE webhook_secrets SET retires_at = $2 WHERE secret_id = $1", secret_id, at
        )

    async def signing(self, endpoint_id: UUID, now: datetime) -> list[bytes]:
        """The raw secrets that sign a delivery to this endpoint now, newest first."""
        rows = await self._pool.fetch(
            "SELECT wrapped, kek_id FROM webhook_secrets WHERE endpoint_id = $1 "
            "AND (retires_at IS NULL OR retires_at > $2) ORDER BY created_at DESC",
            endpoint_id,
            now,
        )
        return [self._wrapper.unwrap(r["wrapped"], r["kek_id"]) for r in rows]

    async def remove(self, endpoint_id: UUID) -> None:
        await self._pool.execute("DELETE FROM webhook_secrets WHERE endpoint_id = $1", endpoint_id)
