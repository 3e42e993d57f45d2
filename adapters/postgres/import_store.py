"""The batch reads and claims a consent import needs, one round trip per chunk (PostgreSQL).

Lookups are `= ANY($1)`, which PostgreSQL answers with one index probe per key; a join against
the unnested keys (even a LATERAL one, which the planner flattens) scans the whole table.
Registering a chunk's contacts is one statement: claim the addresses not bound yet, give each
new contact its data key, and read back every contact and key (existing ones included).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from adapters.crypto.data_keys import KeyWrapper, fetch_keys
from ledger.application.import_plan import Registered
from ledger.errors import ConflictError
from ledger.ports import RecordedEvent

_CONTACTS = "SELECT blind_index, contact_id FROM contact_lookup WHERE blind_index = ANY($1::bytea[])"
# The main query and the CTEs see the tables as they were when the statement began, so `found`
# is exactly the contacts that existed before; a key comes back NULL when it was not ours to
# write (a concurrent registration wrote it first), and is read afterwards.
_REGISTER = """
WITH input AS (
    SELECT * FROM unnest($1::bytea[], $2::uuid[], $3::bytea[]) AS u(blind_index, contact_id, wrapped)
), claimed AS (
    INSERT INTO contact_lookup (blind_index, contact_id)
    SELECT blind_index, contact_id FROM input ON CONFLICT DO NOTHING
    RETURNING blind_index, contact_id
), found AS (
    SELECT l.blind_index, l.contact_id, k.wrapped, k.kek_id
      FROM contact_lookup l LEFT JOIN contact_keys k ON k.contact_id = l.contact_id
     WHERE l.blind_index = ANY($1::bytea[])
), keyed AS (
    INSERT INTO contact_keys (contact_id, wrapped, kek_id)
    SELECT c.contact_id, i.wrapped, $4 FROM claimed c JOIN input i USING (blind_index)
    UNION ALL  -- a contact a crashed import claimed without its key
    SELECT f.contact_id, i.wrapped, $4 FROM found f JOIN input i USING (blind_index)
     WHERE f.wrapped IS NULL
    ON CONFLICT (contact_id) DO NOTHING
    RETURNING contact_id
)
SELECT c.blind_index, c.contact_id, true AS created, i.wrapped, $4 AS kek_id
  FROM claimed c JOIN input i USING (blind_index)
UNION ALL
SELECT f.blind_index, f.contact_id, false,
       CASE WHEN f.wrapped IS NOT NULL THEN f.wrapped
            WHEN f.contact_id IN (SELECT contact_id FROM keyed) THEN i.wrapped END,
       coalesce(f.kek_id, $4)
  FROM found f JOIN input i USING (blind_index)
"""
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

    async def register(self, indexes: Sequence[bytes]) -> Registered:
        ids: dict[bytes, UUID] = {}
        created: set[UUID] = set()
        keys: dict[UUID, bytes] = {}
        missing = list(indexes)
        for _ in range(3):  # a claim lost to a registration not yet visible: look again
            # Candidate ids and keys from one draw of randomness each, not two system calls a row.
            ids_blob, keys_blob = os.urandom(16 * len(missing)), os.urandom(32 * len(missing))
            candidates = [UUID(bytes=ids_blob[n * 16 : n * 16 + 16], version=4) for n in range(len(missing))]
            fresh = [keys_blob[n * 32 : n * 32 + 32] for n in range(len(missing))]
            wrapped = [self._wrapper.wrap(k) for k in fresh]
            ours = dict(zip(wrapped, fresh, strict=True))
            rows = await self._pool.fetch(_REGISTER, missing, candidates, wrapped, self._wrapper.kek_id)
            for r in rows:
                index, contact_id = bytes(r["blind_index"]), r["contact_id"]
                ids[index] = contact_id
                if r["created"]:
                    created.add(contact_id)
                if r["wrapped"] is not None:
                    stored = bytes(r["wrapped"])
                    keys[contact_id] = ours.get(stored) or self._wrapper.unwrap(stored, r["kek_id"])
            missing = [i for i in missing if i not in ids]
            if not missing:
                break
        else:
            raise ConflictError("addresses of this import are being registered concurrently; run it again")
        unkeyed = [c for c in ids.values() if c not in keys]
        if unkeyed:
            keys |= await fetch_keys(self._pool, self._wrapper, unkeyed)
        return Registered(ids, created, keys)

    async def histories(self, streams: Sequence[UUID]) -> dict[UUID, list[RecordedEvent]]:
        rows = await self._pool.fetch(_HISTORIES, list(streams))
        found: dict[UUID, list[RecordedEvent]] = {}
        for r in rows:
            found.setdefault(r["originator_id"], []).append(RecordedEvent(*r))
        return found
