"""The batch reads and claims a consent import needs, one round trip per chunk (PostgreSQL).

Lookups are `= ANY($1)`, which PostgreSQL answers with one index probe per key; a join against
the unnested keys (even a LATERAL one, which the planner flattens) scans the whole table.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from adapters.crypto.data_keys import KeyWrapper, fetch_keys
from ledger.ports import RecordedEvent

_CONTACTS = "SELECT blind_index, contact_id FROM contact_lookup WHERE blind_index = ANY($1::bytea[])"
_CLAIM = (
    "WITH claimed AS ("
    "  INSERT INTO contact_lookup (blind_index, contact_id) "
    "  SELECT * FROM unnest($1::bytea[], $2::uuid[]) ON CONFLICT DO NOTHING "
    "  RETURNING blind_index, contact_id) "
    "SELECT blind_index, contact_id FROM claimed"
)
_HISTORIES = (
    "SELECT notification_id, originator_id, originator_version, topic, state, recorded_at, hash "
    "FROM events WHERE originator_id = ANY($1::uuid[]) ORDER BY notification_id"
)


class PostgresImportStore:
    """`ledger.application.imports.ImportStore` on the lookup, key and event tables."""

    def __init__(self, pool: asyncpg.Pool, kek: bytes) -> None:
        self._pool = pool
        self._wrapper = KeyWrapper(kek)

    async def contacts(self, indexes: Sequence[bytes]) -> dict[bytes, UUID]:
        rows = await self._pool.fetch(_CONTACTS, list(indexes))
        return {bytes(r["blind_index"]): r["contact_id"] for r in rows}

    async def claim(self, claims: Sequence[tuple[bytes, UUID]]) -> dict[bytes, UUID]:
        # The unique index picks one winner per address, as for a single registration; the few
        # claims lost to a concurrent registration are read back.
        rows = await self._pool.fetch(_CLAIM, [i for i, _ in claims], [c for _, c in claims])
        won = {bytes(r["blind_index"]): r["contact_id"] for r in rows}
        lost = [i for i, _ in claims if i not in won]
        return won | (await self.contacts(lost) if lost else {})

    async def keys(self, contact_ids: Sequence[UUID], create: Sequence[UUID]) -> dict[UUID, bytes]:
        made: dict[UUID, bytes] = {}
        if create:
            fresh = {c: secrets.token_bytes(32) for c in create}
            rows = await self._pool.fetch(
                "INSERT INTO contact_keys (contact_id, wrapped, kek_id) "
                "SELECT c, w, $3 FROM unnest($1::uuid[], $2::bytea[]) AS u(c, w) ON CONFLICT DO NOTHING "
                "RETURNING contact_id",
                list(fresh),
                [self._wrapper.wrap(k) for k in fresh.values()],
                self._wrapper.kek_id,
            )
            made = {r["contact_id"]: fresh[r["contact_id"]] for r in rows}
        rest = [c for c in contact_ids if c not in made]
        return made | (await fetch_keys(self._pool, self._wrapper, rest) if rest else {})

    async def histories(self, streams: Sequence[UUID]) -> dict[UUID, list[RecordedEvent]]:
        rows = await self._pool.fetch(_HISTORIES, list(streams))
        found: dict[UUID, list[RecordedEvent]] = {}
        for r in rows:
            found.setdefault(r["originator_id"], []).append(RecordedEvent(*r))
        return found
