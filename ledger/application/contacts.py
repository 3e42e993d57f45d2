"""Registering and erasing contacts: the write side of personal data, through ports only.

Registration is idempotent per normalised address and safe under concurrency: the address book's
unique blind index decides which contact id wins, every racer then makes sure that contact's key
and `Registered` event exist (the first append wins, the rest see a conflict: already done), so
a crash half way is repaired by the next attempt. Erasure records `Erased`, then deletes the
data key and the lookup row: the ledger keeps only ciphertext nobody can open. The erasure log
(when given: every process that erases must give it) keeps the id where no backup reaches it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from uuid import UUID

from ledger.address import Address, normalise
from ledger.contact import Contact, register_contact
from ledger.errors import ConflictError, NotFoundError
from ledger.ports import AddressBook, DataKeys, ErasureLog, Sealer
from ledger.repository import Repository
from ledger.vocabulary import Actor, Channel


@dataclass(frozen=True, slots=True)
class Registration:
    contact_id: UUID
    created: bool
    position: int
    address: Address


class ContactRegistry:
    """Contacts: register, find, read one's own address, erase."""

    def __init__(
        self,
        repository: Repository,
        keys: DataKeys,
        book: AddressBook,
        sealer: Sealer,
        erasures: ErasureLog | None = None,
        *,
        default_region: str = "US",
    ) -> None:
        self.repository = repository
        self.keys = keys
        self.book = book
        self.sealer = sealer
        self.erasures = erasures
        self.default_region = default_region

    def address(self, channel: Channel, text: str) -> Address:
        """`text` as an address on `channel` (phone numbers without a country code are read in
        the deployment's default region), or `InvalidValueError` saying what is wrong with it."""
        return normalise(channel, text, default_region=self.default_region)

    async def find(self, address: Address) -> UUID | None:
        """The live contact holding `address`, if any."""
        return await self.book.find(self.sealer.blind_index(address.value))

    async def find_text(self, channel: Channel, text: str) -> UUID | None:
        return await self.find(self.address(channel, text))

    async def register_text(self, channel: Channel, text: str, actor: Actor) -> Registration:
        """`register` for an address as given (parsed as `address` does)."""
        return await self.register(self.address(channel, text), actor)

    async def register(self, address: Address, actor: Actor) -> Registration:
        # Claimed straight away (no lookup first): a new address, the common case, costs one
        # round trip; a known one answers with the contact it is bound to, as a lookup would.
        candidate = uuid.uuid4()
        contact_id = await self.book.claim(self.sealer.blind_index(address.value), candidate)
        if contact_id != candidate and await self.repository.store.read_stream(contact_id):
            return Registration(contact_id, False, await self.repository.store.head(), address)
        key = await self.keys.create(contact_id)
        contact = register_contact(
            contact_id,
            channel=address.channel,
            sealed_address=self.sealer.seal(key, address.value),
            actor=actor,
        )
        try:
            position = await self.repository.save(contact)
        except ConflictError:  # registered already (by us earlier, or by a concurrent racer)
            return Registration(contact_id, False, await self.repository.store.head(), address)
        return Registration(contact_id, True, position, address)

    async def address_of(self, contact_id: UUID) -> Address:
        """The contact's own address in clear (only for the contact themselves, and senders)."""
        contact = await self.repository.get(Contact, contact_id)
        contact.require_live()
        return self.opened_address(contact, await self.keys.get(contact_id))

    def opened_address(self, contact: Contact, key: bytes | None) -> Address:
        """`address_of` for a contact read and a key fetched by the caller (None: erased)."""
        contact.require_live()
        plaintext = self.sealer.open(key, contact.sealed_address)
        if plaintext is None:
            raise NotFoundError(f"no contact with id {contact.id}")
        return Address(contact.channel, plaintext)

    async def erase(self, contact_id: UUID, actor: Actor) -> int:
        contact = await self.repository.get(Contact, contact_id)
        contact.erase(actor)
        if self.erasures is not None:  # first: a restore must never miss an erasure that happened
            await self.erasures.record(contact_id)
        position = await self.repository.save(contact)
        await self.shred(contact_id)
        return position

    async def erase_again(self, contact_id: UUID, actor: Actor) -> bool:
        """After a restore: erase a contact the erasure log names, if the restored data still has it.

        Returns whether anything was still there to erase.
        """
        contact = await self.repository.find(Contact, contact_id)
        if contact is None:
            await self.shred(contact_id)
            return False
        if contact.erased:
            await self.shred(contact_id)
            return False
        contact.erase(actor)
        await self.repository.save(contact)
        await self.shred(contact_id)
        return True

    async def shred(self, contact_id: UUID) -> None:
        """Delete the key and the lookup row (idempotent; the contacts projection repeats it)."""
        await self.keys.delete(contact_id)
        await self.book.release(contact_id)
