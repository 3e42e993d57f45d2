"""Per-contact data keys in memory: made on first use, gone for good once deleted (crypto-shred)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from uuid import UUID


class InMemoryDataKeys:
    """`ledger.ports.DataKeys` in a dict. Nothing to wrap: the keys never leave the process."""

    def __init__(self) -> None:
        self._keys: dict[UUID, bytes] = {}

    async def create(self, contact_id: UUID) -> bytes:
        return self._keys.setdefault(contact_id, secrets.token_bytes(32))

    async def get(self, contact_id: UUID) -> bytes | None:
        return self._keys.get(contact_id)

    async def get_many(self, contact_ids: Sequence[UUID]) -> dict[UUID, bytes]:
        return {c: self._keys[c] for c in contact_ids if c in self._keys}

    async def delete(self, contact_id: UUID) -> None:
        self._keys.pop(contact_id, None)
