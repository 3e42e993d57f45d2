"""The `ErasureLog` contract on every implementation: every erased contact id, in erasure order."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from adapters.erasure_log import prepare_erasure_log
from adapters.memory.erasure_log import InMemoryErasureLog
from adapters.postgres.dsn import with_database
from ledger.ports import ErasureLog
from tests.conftest import drop_database


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


# A new log is one the service has prepared (created empty) where it starts: from then on a
# missing one means a wrong or lost location, which `erased()` refuses (tests/integration).
class TestFileErasureLog(ErasureLogContract):
    @pytest.fixture
    async def subject(self, tmp_path: Path) -> ErasureLog:
        return await prepare_erasure_log(str(tmp_path / "erasures.log"))


@pytest.mark.integration
class TestPostgresErasureLog(ErasureLogContract):
    @pytest.fixture
    async def subject(self, admin_dsn: str) -> AsyncIterator[ErasureLog]:
        """In a database of its own: the log refuses one that holds a ledger."""
        name = f"optin_erasures_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f"CREATE DATABASE {name}")
            yield await prepare_erasure_log(with_database(admin_dsn, name))
            await drop_database(conn, name)
        finally:
            await conn.close()
