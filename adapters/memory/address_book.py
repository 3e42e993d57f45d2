"""The address book in memory: blind index → live contact, first claim wins."""

from __future__ import annotations

from uuid import UUID


class InMemoryAddressBook:
    """`ledger.ports.AddressBook` in a dict (the unique blind index is the dict's key)."""

    def __init__(self) -> None:
        self._contacts: dict[bytes, UUID] = {}

    async def find(self, blind_index: bytes) -> UUID | None:
        return self._contacts.get(blind_index)

    async def claim(self, blind_index: bytes, contact_id: UUID) -> UUID:
        return self._contacts.setdefault(blind_index, contact_id)

    async def release(self, contact_id: UUID) -> None:
        for index in [i for i, c in self._contacts.items() if c == contact_id]:
            del self._contacts[index]
