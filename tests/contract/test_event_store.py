"""The `EventStore` contract, run against every implementation (eventsourcing's recorder test cases
pattern): one base class of tests, one subclass per store providing the `subject` fixture."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from adapters.memory.clock import ManualClock
from adapters.memory.event_store import InMemoryEventStore
from adapters.postgres.event_store import PostgresEventStore
from ledger.chain import GENESIS_HASH, ChainBreak, ChainRecord, first_break, link
from ledger.errors import ConflictError
from ledger.ports import EventStore, RecordedEvent, StoredEvent


def ev(stream: uuid.UUID, version: int, state: bytes = b"{}") -> StoredEvent:
    return StoredEvent(stream, version, "test.happened", state)


def record(row: RecordedEvent) -> ChainRecord:
    return ChainRecord(*row[:6])


def chain_break(rows: list[RecordedEvent]) -> ChainBreak | None:
    return first_break((record(r), r.hash) for r in rows)


async def everything(store: EventStore) -> list[RecordedEvent]:
    return await store.read_after(0, 100_000)


class EventStoreContract:
    """What every `EventStore` promises. Subclasses override `subject`."""

    @pytest.fixture
    async def subject(self) -> EventStore:
        raise NotImplementedError

    async def test_an_empty_store_has_head_zero_and_nothing_to_read(self, subject: EventStore) -> None:
        assert await subject.head() == 0
        assert await subject.read_after(0, 10) == []
        assert await subject.read_stream(uuid.uuid4()) == []
        assert await subject.read_stream_recorded(uuid.uuid4()) == []

    async def test_appended_events_read_back_as_stored(self, subject: EventStore) -> None:
        stream = uuid.uuid4()
        state = bytes(range(256))  # any bytes, not only UTF-8
        assert await subject.append([ev(stream, 1, state), ev(stream, 2)]) == 2
        assert await subject.read_stream(stream) == [ev(stream, 1, state), ev(stream, 2)]
        assert await subject.read_stream(stream, after_version=1) == [ev(stream, 2)]
        assert await subject.head() == 2

    async def test_nothing_to_append_is_refused(self, subject: EventStore) -> None:
        with pytest.raises(ValueError, match="nothing to append"):
            await subject.append([])

    async def test_positions_are_gapless_in_commit_order(self, subject: EventStore) -> None:
        a, b = uuid.uuid4(), uuid.uuid4()
        assert await subject.append([ev(a, 1)]) == 1
        assert await subject.append([ev(b, 1), ev(b, 2), ev(a, 2)]) == 4
        assert await subject.append([ev(b, 3)]) == 5
        rows = await everything(subject)
        assert [r.notification_id for r in rows] == [1, 2, 3, 4, 5]
        assert [(r.originator_id, r.originator_version) for r in rows] == [
            (a, 1), (b, 1), (b, 2), (a, 2), (b, 3),
        ]  # fmt: skip

    async def test_a_stream_reads_in_version_order(self, subject: EventStore) -> None:
        stream = uuid.uuid4()
        await subject.append([ev(stream, 2)])
        await subject.append([ev(stream, 1)])
        assert [e.originator_version for e in await subject.read_stream(stream)] == [1, 2]
        assert [r.notification_id for r in await subject.read_stream_recorded(stream)] == [2, 1]

    async def test_several_streams_read_at_once_as_each_alone(self, subject: EventStore) -> None:
        a, b, empty = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        await subject.append([ev(b, 2), ev(a, 1)])
        await subject.append([ev(b, 1), ev(a, 2, b"second")])
        read = await subject.read_streams([empty, b, a, b])
        assert set(read) == {a, b, empty}
        assert read[a] == await subject.read_stream_recorded(a)
        assert read[b] == await subject.read_stream_recorded(b)
        assert [r.originator_version for r in read[b]] == [1, 2]
        assert read[empty] == []
        assert await subject.read_streams([]) == {}

    async def test_a_version_already_stored_conflicts_and_changes_nothing(self, subject: EventStore) -> None:
        stream = uuid.uuid4()
        await subject.append([ev(stream, 1, b'{"first":true}')])
        with pytest.raises(ConflictError):
            await subject.append([ev(stream, 1, b'{"second":true}')])
        assert await subject.read_stream(stream) == [ev(stream, 1, b'{"first":true}')]
        assert await subject.head() == 1

    async def test_one_conflicting_stream_fails_the_whole_append(self, subject: EventStore) -> None:
        taken, fresh = uuid.uuid4(), uuid.uuid4()
        await subject.append([ev(taken, 1)])
        with pytest.raises(ConflictError):
            await subject.append([ev(fresh, 1), ev(fresh, 2), ev(taken, 1)])
        assert await subject.read_stream(fresh) == []
        assert await subject.head() == 1
        assert await subject.append([ev(fresh, 1)]) == 2  # the next append takes the next position

    async def test_the_same_version_twice_in_one_append_conflicts(self, subject: EventStore) -> None:
        stream = uuid.uuid4()
        with pytest.raises(ConflictError):
            await subject.append([ev(stream, 1), ev(stream, 1)])
        assert await subject.head() == 0

    async def test_every_row_is_chained_onto_the_one_before(self, subject: EventStore) -> None:
        for i in range(4):
            await subject.append([ev(uuid.uuid4(), 1, b'{"i":%d}' % i), ev(uuid.uuid4(), 1)])
        rows = await everything(subject)
        assert len(rows) == 8
        assert rows[0].hash == link(GENESIS_HASH, record(rows[0]))
        assert chain_break(rows) is None
        assert first_break((record(r), r.hash) for r in rows[3:]) is not None  # not from genesis
        assert first_break(((record(r), r.hash) for r in rows[3:]), rows[2].hash) is None

    async def test_a_changed_row_breaks_the_chain_there(self, subject: EventStore) -> None:
        stream = uuid.uuid4()
        await subject.append([ev(stream, v) for v in range(1, 6)])
        rows = await everything(subject)
        rows[2] = rows[2]._replace(state=b'{"forged":1}')
        found = chain_break(rows)
        assert found is not None and found.notification_id == 3

    async def test_recorded_rows_agree_with_the_ledger_and_carry_aware_times(
        self, subject: EventStore
    ) -> None:
        stream = uuid.uuid4()
        await subject.append([ev(stream, 1)])
        await subject.append([ev(uuid.uuid4(), 1)])
        await subject.append([ev(stream, 2)])
        rows = await everything(subject)
        recorded = await subject.read_stream_recorded(stream)
        assert recorded == [rows[0], rows[2]]
        assert all(r.recorded_at.utcoffset() == timedelta(0) for r in rows)
        assert [r.recorded_at for r in rows] == sorted(r.recorded_at for r in rows)
        assert [r.stored() for r in recorded] == await subject.read_stream(stream)

    async def test_read_after_pages_through_the_ledger(self, subject: EventStore) -> None:
        for _ in range(7):
            await subject.append([ev(uuid.uuid4(), 1)])
        pages, last = [], 0
        while page := await subject.read_after(last, 3):
            pages.append([r.notification_id for r in page])
            last = page[-1].notification_id
        assert pages == [[1, 2, 3], [4, 5, 6], [7]]
        assert await subject.read_after(7, 3) == []
        assert await subject.read_after(100, 3) == []
        assert [r.notification_id for r in await subject.read_after(5, 100)] == [6, 7]

    async def test_concurrent_appends_stay_gapless_and_each_answer_names_its_row(
        self, subject: EventStore
    ) -> None:
        answers: list[tuple[int, uuid.UUID, int]] = []

        async def writer() -> None:
            stream = uuid.uuid4()
            for version in range(1, 11):
                answers.append((await subject.append([ev(stream, version)]), stream, version))

        await asyncio.gather(*(writer() for _ in range(20)))
        rows = await everything(subject)
        assert [r.notification_id for r in rows] == list(range(1, 201))
        assert chain_break(rows) is None
        assert await subject.head() == 200
        by_position = {r.notification_id: (r.originator_id, r.originator_version) for r in rows}
        assert all(by_position[p] == (s, v) for p, s, v in answers)

    async def test_racing_writers_of_one_version_exactly_one_wins(self, subject: EventStore) -> None:
        stream = uuid.uuid4()
        for version in (1, 2, 3):
            results = await asyncio.gather(
                *(subject.append([ev(stream, version, b'{"w":%d}' % w)]) for w in range(10)),
                return_exceptions=True,
            )
            assert sum(isinstance(r, int) for r in results) == 1
            assert sum(isinstance(r, ConflictError) for r in results) == 9
        assert [e.originator_version for e in await subject.read_stream(stream)] == [1, 2, 3]
        assert await subject.head() == 3

    async def test_a_conflicting_call_does_not_sink_concurrent_ones(self, subject: EventStore) -> None:
        taken = uuid.uuid4()
        await subject.append([ev(taken, 1)])
        others = [uuid.uuid4() for _ in range(10)]
        results = await asyncio.gather(
            subject.append([ev(uuid.uuid4(), 1), ev(taken, 1)]),
            *(subject.append([ev(s, 1), ev(s, 2)]) for s in others),
            return_exceptions=True,
        )
        assert isinstance(results[0], ConflictError)
        assert sorted(r for r in results[1:] if isinstance(r, int)) == list(range(3, 23, 2))
        rows = await everything(subject)
        assert [r.notification_id for r in rows] == list(range(1, 22))
        assert chain_break(rows) is None


class TestInMemoryEventStore(EventStoreContract):
    @pytest.fixture
    async def subject(self) -> EventStore:
        return InMemoryEventStore()

    async def test_rows_are_recorded_at_the_clocks_time(self) -> None:
        clock = ManualClock()
        store = InMemoryEventStore(clock)
        await store.append([ev(uuid.uuid4(), 1)])
        clock.advance(timedelta(days=3))
        await store.append([ev(uuid.uuid4(), 1), ev(uuid.uuid4(), 1)])
        assert [r.recorded_at - clock.now() for r in await everything(store)] == [
            timedelta(days=-3), timedelta(0), timedelta(0),
        ]  # fmt: skip


@pytest.mark.integration
class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    async def subject(self, pool: asyncpg.Pool) -> AsyncIterator[EventStore]:
        store = PostgresEventStore(pool)
        yield store
        await store.close()
