"""The `AddressBook` contract on every implementation: one live contact per blind index."""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
import pytest

from adapters.memory.address_book import InMemoryAddressBook
from adapters.postgres.address_book import PostgresAddressBook
from ledger.ports import AddressBook


def index() -> bytes:
    return os.urandom(32)  # a blind index is an HMAC-SHA256: 32 bytes


class AddressBookContract:
    @pytest.fixture
    async def subject(self) -> AddressBook:
        raise NotImplementedError

    async def test_the_first_claim_binds_and_later_claims_get_its_contact(self, subject: AddressBook) -> None:
        blind, first, second = index(), uuid.uuid4(), uuid.uuid4()
        assert await subject.find(blind) is None
        assert await subject.claim(blind, first) == first
        assert await subject.claim(blind, second) == first
        assert await subject.find(blind) == first

    async def test_racing_claims_all_learn_the_one_winner(self, subject: AddressBook) -> None:
        blind = index()
        candidates = [uuid.uuid4() for _ in range(10)]
        winners = await asyncio.gather(*(subject.claim(blind, c) for c in candidates))
        assert len(set(winners)) == 1
        assert winners[0] in candidates
        assert await subject.find(blind) == winners[0]

    async def test_a_released_contact_frees_its_address_for_a_new_claim(self, subject: AddressBook) -> None:
        blind, erased, successor = index(), uuid.uuid4(), uuid.uuid4()
        other_blind, other = index(), uuid.uuid4()
        await subject.claim(blind, erased)
        await subject.claim(other_blind, other)
        await subject.release(erased)
        assert await subject.find(blind) is None
        assert await subject.find(other_blind) == other
        assert await subject.claim(blind, successor) == successor

    async def test_releasing_an_unknown_contact_is_harmless(self, subject: AddressBook) -> None:
        await subject.release(uuid.uuid4())


class TestInMemoryAddressBook(AddressBookContract):
    @pytest.fixture
    async def subject(self) -> AddressBook:
        return InMemoryAddressBook()


@pytest.mark.integration
class TestPostgresAddressBook(AddressBookContract):
    @pytest.fixture
    async def subject(self, pool: asyncpg.Pool) -> AddressBook:
        return PostgresAddressBook(pool)
