"""The erasure log in memory: every erased contact id once, in the order they were erased."""

from __future__ import annotations

from uuid import UUID


class InMemoryErasureLog:
    """`ledger.ports.ErasureLog` in a list (it outlives nothing: for tests and demos only)."""

    def __init__(self) -> None:
        self._erased: dict[UUID, None] = {}  # a dict keeps the order and the ids unique

    async def record(self, contact_id: UUID) -> None:
        self._erased.setdefault(contact_id, None)

    async def erased(self) -> list[UUID]:
        return list(self._erased)
