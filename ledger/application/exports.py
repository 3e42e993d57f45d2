"""Consent exports: which program, and, for an admin who asks, the addresses in clear.

Exports are masked by default. Addresses in clear are opened with each contact's own key, and
the act is on the ledger first (`export.addresses_revealed`, naming the program, the format and
the admin), before any row leaves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from ledger.address_export import ExportFormat, record_address_export
from ledger.errors import NotFoundError
from ledger.ports import DataKeys, Sealer
from ledger.program import Program
from ledger.repository import Repository
from ledger.vocabulary import Actor

SealedAddresses = Callable[[Sequence[UUID]], Awaitable[dict[UUID, bytes]]]
"""Each contact's address as registered, sealed with its key (a read of the ledger)."""


class ConsentExports:
    def __init__(
        self, repository: Repository, keys: DataKeys, sealer: Sealer, sealed_addresses: SealedAddresses
    ) -> None:
        self.repository = repository
        self.keys = keys
        self.sealer = sealer
        self.sealed_addresses = sealed_addresses

    async def start(self, optin_id: UUID, fmt: ExportFormat, actor: Actor, *, reveal: bool) -> int | None:
        """Check the program exists; with `reveal`, record who is given the addresses (its position)."""
        if await self.repository.find(Program, optin_id) is None:
            raise NotFoundError(f"no program with id {optin_id}")
        if not reveal:
            return None
        return await self.repository.save(record_address_export(optin_id, fmt, actor))

    async def addresses(self, contact_ids: Sequence[UUID]) -> dict[UUID, str]:
        """Addresses in clear (contacts whose key is gone, erased ones, are left out)."""
        sealed = await self.sealed_addresses(contact_ids)
        keys = await self.keys.get_many(list(sealed))
        found: dict[UUID, str] = {}
        for contact_id, value in sealed.items():
            plain = self.sealer.open(keys.get(contact_id), value)
            if plain is not None:
                found[contact_id] = plain
        return found
