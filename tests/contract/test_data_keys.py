"""The `DataKeys` contract on every implementation: one key per contact, made once, shredded for good."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from adapters.crypto.data_keys import PostgresDataKeys
from adapters.memory.data_keys import InMemoryDataKeys
from ledger.ports import DataKeys
from tests.conftest import KEK


class DataKeysContract:
    @pytest.fixture
    async def subject(self) -> DataKeys:
        raise NotImplementedError

    async def test_a_key_is_made_once_and_kept(self, subject: DataKeys) -> None:
        contact = uuid.uuid4()
        assert await subject.get(contact) is None
        key = await subject.create(contact)
        assert len(key) == 32
        assert await subject.create(contact) == key
        assert await subject.get(contact) == key

    async def test_concurrent_first_calls_agree_on_one_key(self, subject: DataKeys) -> None:
        contact = uuid.uuid4()
        keys = await asyncio.gather(*(subject.create(contact) for _ in range(10)))
        assert len(set(keys)) == 1
        assert await subject.get(contact) == keys[0]

    async def test_every_contact_has_its_own_key(self, subject: DataKeys) -> None:
        a, b = uuid.uuid4(), uuid.uuid4()
        assert await subject.create(a) != await subject.create(b)

    async def test_get_many_names_only_contacts_that_still_have_a_key(self, subject: DataKeys) -> None:
        a, b, never = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        key_a, key_b = await subject.create(a), await subject.create(b)
        assert await subject.get_many([a, b, never]) == {a: key_a, b: key_b}
        await subject.delete(b)
        assert await subject.get_many([a, b, never]) == {a: key_a}
        assert await subject.get_many([]) == {}

    async def test_a_deleted_key_is_gone_and_deleting_again_is_harmless(self, subject: DataKeys) -> None:
        contact = uuid.uuid4()
        await subject.create(contact)
        await subject.delete(contact)
        assert await subject.get(contact) is None
        await subject.delete(contact)
        await subject.delete(uuid.uuid4())


class TestInMemoryDataKeys(DataKeysContract):
    @pytest.fixture
    async def subject(self) -> DataKeys:
        return InMemoryDataKeys()


@pytest.mark.integration
class TestPostgresDataKeys(DataKeysContract):
    @pytest.fixture
    async def subject(self, pool: asyncpg.Pool) -> DataKeys:
        return PostgresDataKeys(pool, KEK)
