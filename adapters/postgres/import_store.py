"""The batch reads and claims a consent import needs, one round trip per chunk (PostgreSQL)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from adapters.crypto.data_keys import KeyWrapper, fetch_keys
from ledger.ports import RecordedEvent


class PostgresImportStore:
    """`ledger.consent_import.ImportStore` on the lookup, key and event tables."""

    def __init__(self, pool: asyncpg.Pool, kek: bytes) -> None:
        self._pool = pool
        self._wrapper = KeyWrapper(kek)

    async def contacts(self, indexes: Sequence[bytes]) -> dict[bytes, UUID]:
        rows = await self._pool.fetch(
            "SELECT blind_index, contact_id FROM contact_lookup WHERE blind_index = ANY($1::bytea[])",
            list(indexes),
        )
        return {bytes(r["blind_index"]): r["contact_id"] for r in rows}

    async def claim(self, claims: Sequence[tuple[bytes, UUID]]) -> dict[bytes, UUID]:
        # The unique index picks one winner per address, as for a single registration.
        await self._pool.execute(
            "INSERT INTO contact_lookup (blind_index, contact_id) "
            "SELECT * FROM unnest($1::bytea[], $2::uuid[]) ON CONFLICT DO NOTHING",
            [i for i, _ in claims],
            [c for _, c in claims],
        )
        return await self.contacts([i for i, _ in claims])

    async def keys(self, contact_ids: Sequence[UUID], create: Sequence[UUID]) -> dict[UUID, bytes]:
        if create:
            await self._pool.execute(
                "INSERT INTO contact_keys (contact_id, wrapped, kek_id) "
                "SELECT c, w, $3 FROM unnest($1::uuid[], $2::bytea[]) AS u(c, w) ON CONFLICT DO NOTHING",
                list(create),
                [self._wrapper.wrap(secrets.token_bytes(32)) for _ in create],
                self._wrapper.kek_id,
            )
        return await fetch_keys(self._pool, self._wrapper, list(contact_ids))

    async def histories(self, streams: Sequence[UUID]) -> dict[UUID, list[RecordedEvent]]:
        rows = await self._pool.fetch(
            # One index probe per stream (LATERAL): a merge join would walk the whole stream index.
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
            "e.recorded_at, e.hash FROM unnest($1::uuid[]) AS q(id) CROSS JOIN LATERAL ("
            "  SELECT * FROM events WHERE originator_id = q.id) e ORDER BY e.notification_id",
            list(streams),
        )
        found: dict[UUID, list[RecordedEvent]] = {}
        for r in rows:
            found.setdefault(r["originator_id"], []).append(RecordedEvent(*r))
        return found
