"""Batch chaining gives exactly the bytes of the one-record chain and Merkle leaf functions."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from ledger.chain import GENESIS_HASH, ChainRecord, epoch_micros, link
from ledger.chain_batch import chain_events
from ledger.merkle import event_leaf
from ledger.ports import StoredEvent

_EVENT = st.builds(
    StoredEvent,
    st.one_of(st.uuids(), st.uuids().map(str)),
    st.integers(min_value=0, max_value=2**63 - 1),
    st.text(max_size=40),
    st.binary(max_size=300),
)
_MOMENT = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))


@given(
    st.integers(min_value=0, max_value=2**40),
    st.binary(min_size=32, max_size=32),
    st.lists(_EVENT, max_size=20),
    _MOMENT,
)
def test_each_hash_and_leaf_is_the_single_record_form(
    after: int, prev: bytes, events: list[StoredEvent], at: datetime
) -> None:
    hashes, leaves = chain_events(after, prev, events, epoch_micros(at))
    assert len(hashes) == len(leaves) == len(events)
    for n, (event, chained, leaf) in enumerate(zip(events, hashes, leaves, strict=True), start=1):
        oid = event.originator_id
        record = ChainRecord(
            after + n,
            oid if isinstance(oid, UUID) else UUID(oid),
            event.originator_version,
            event.topic,
            event.state,
            at,
        )
        prev = link(prev, record)
        assert chained == prev
        assert leaf == event_leaf(record)


def test_a_topic_seen_again_in_the_run_encodes_the_same() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    stream = UUID(int=7)
    events = [StoredEvent(stream, v, "tëst.again", b"{}") for v in (1, 2, 3)]
    hashes, _ = chain_events(0, GENESIS_HASH, events, epoch_micros(at))
    prev = GENESIS_HASH
    for v in (1, 2, 3):
        prev = link(prev, ChainRecord(v, stream, v, "tëst.again", b"{}", at))
        assert hashes[v - 1] == prev
