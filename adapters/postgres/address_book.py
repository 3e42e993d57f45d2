"""The address book: blind index → live contact, in a mutable table with a unique constraint."""

from __future__ import annotations

from uuid import UUID

import asyncpg


class PostgresAddressBook:
    """`ledger.ports.AddressBook` on the `contact_lookup` table."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def find(self, blind_index: bytes) -> UUID | None:
        found: UUID | None = await self._pool.fetchval(
            "SELECT contact_id FROM contact_lookup WHERE blind_index = $1", blind_index
        )
        return found

    async def claim(self, blind_index: bytes, contact_id: UUID) -> UUID:
        # INSERT … ON CONFLICT DO NOTHING: the unique index picks one winner. A loser whose
        # statement snapshot predates the winner's commit reads nothing; it reads again.
        winner: UUID | None = await self._pool.fetchval(
            "WITH claimed AS ("
            "  INSERT INTO contact_lookup (blind_index, contact_id) VALUES ($1, $2)"
            "  ON CONFLICT (blind_index) DO NOTHING RETURNING contact_id) "
            "SELECT contact_id FROM claimed "
            "UNION ALL SELECT contact_id FROM contact_lookup WHERE blind_index = $1 LIMIT 1",
            blind_index,
            contact_id,
        )
        if winner is None:
            winner = await self.find(blind_index)
        if winner is None:  # claimed and released in between (an erasure): claim afresh
            return await self.claim(blind_index, contact_id)
        return winner

    async def release(self, contact_id: UUID) -> None:
        await self._pool.execute("DELETE FROM contact_lookup WHERE contact_id = $1", contact_id)
