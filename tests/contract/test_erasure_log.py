"""The `ErasureLog` contract on every implementation: every erased contact id, in erasure order."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from adapters.erasure_log import FileErasureLog, PostgresErasureLog
from adapters.memory.erasure_log import InMemoryErasureLog
from ledger.ports import ErasureLog


class ErasureLogContract:
    @pytest.fixture
    async def subject(self) -> ErasureLog:
        raise NotImplementedError

    async def test_a_new_log_names_nobody(self, subject: ErasureLog) -> None:
        assert await subject.erased() == []

    async def test_erasures_are_listed_in_the_order_they_happened(self, subject: ErasureLog) -> None:
        ids = [uuid.uuid4() for _ in range(3)]
        for contact_id in ids:
            await subject.record(contact_id)
        assert await subject.erased() == ids

    async def test_recording_a_contact_again_loses_nothing(self, subject: ErasureLog) -> None:
        a, b = uuid.uuid4(), uuid.uuid4()
        await subject.record(a)
        await subject.record(b)
        await subject.record(a)
        assert list(dict.fromkeys(await subject.erased())) == [a, b]


class TestInMemoryErasureLog(ErasureLogContract):
    @pytest.fixture
    async def subject(self) -> ErasureLog:
        return InMemoryErasureLog()


class TestFileErasureLog(ErasureLogContract):
    @pytest.fixture
    async def subject(self, tmp_path: Path) -> ErasureLog:
        return FileErasureLog(tmp_path / "erasures.log")


@pytest.mark.integration
class TestPostgresErasureLog(ErasureLogContract):
    @pytest.fixture
    async def subject(self, database_url: str) -> ErasureLog:
        return PostgresErasureLog(database_url)
