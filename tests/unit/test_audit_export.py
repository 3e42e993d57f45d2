"""Audit export lines and their offline verification: the round trip passes, any edit is named."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.audit_export import (
    ExportVerifier,
    Verdict,
    header_line,
    record_line,
    trailer_line,
    verify_export,
)
from ledger.chain import GENESIS_HASH, ChainRecord, link
from ledger.ports import RecordedEvent

T0 = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def chained(count: int, after: int = 0, prev: bytes = GENESIS_HASH) -> list[RecordedEvent]:
    events = []
    stream = uuid.UUID(int=7)
    for n in range(after + 1, after + count + 1):
        record = ChainRecord(
            n, stream, n, "user.created", b'{"role":"staff","n":%d}' % n, T0 + timedelta(seconds=n)
        )
        prev = link(prev, record)
        events.append(
            RecordedEvent(
                notification_id=n,
                originator_id=stream,
                originator_version=n,
                topic=record.topic,
                state=record.state,
                recorded_at=record.recorded_at,
                hash=prev,
            )
        )
    return events


def export(events: list[RecordedEvent], after: int = 0, prev: bytes = GENESIS_HASH) -> bytes:
    head = events[-1].hash if events else prev
    return (
        header_line(after, prev) + b"".join(record_line(e) for e in events) + trailer_line(len(events), head)
    )


def verdict_of(data: bytes) -> Verdict:
    return verify_export(data.splitlines(keepends=True))


def test_a_full_export_verifies() -> None:
    events = chained(5)
    verdict = verdict_of(export(events))
    assert verdict.ok, verdict
    assert verdict.records == 5
    assert verdict.head_hash == events[-1].hash.hex()


def test_an_empty_ledger_exports_and_verifies() -> None:
    assert verdict_of(export([])).ok


def test_a_partial_export_verifies_from_its_stated_hash() -> None:
    first = chained(3)
    rest = chained(2, after=3, prev=first[-1].hash)
    assert verdict_of(export(rest, after=3, prev=first[-1].hash)).ok


def test_a_cut_short_export_fails() -> None:
    data = export(chained(3))
    lines = data.splitlines(keepends=True)
    verdict = verify_export(lines[:-1])
    assert not verdict.ok
    assert "missing" in (verdict.reason or "")
    assert not verify_export([]).ok


def test_a_dropped_record_is_named() -> None:
    lines = export(chained(4)).splitlines(keepends=True)
    del lines[2]  # the record at position 2
    verdict = verify_export(lines)
    assert (verdict.ok, verdict.line, verdict.position) == (False, 3, 3)
    assert "expected position 2" in (verdict.reason or "")


@pytest.mark.parametrize("edit", [b"STAFF", b"staff "])
def test_an_edit_that_still_parses_is_caught_by_the_hash(edit: bytes) -> None:
    data = export(chained(3))
    lines = data.splitlines(keepends=True)
    tampered = lines[2].replace(b'"topic":"user.created"', b'"topic":"user.' + edit + b'"')
    lines[2] = tampered
    verdict = verify_export(lines)
    assert (verdict.ok, verdict.line, verdict.position) == (False, 3, 2)


DATA = export(chained(6))
LINES = DATA.splitlines(keepends=True)
STARTS = [sum(len(line) for line in LINES[:n]) for n in range(len(LINES))]


@given(st.integers(1, len(LINES) - 2), st.data())
def test_flipping_any_byte_of_a_record_fails_at_that_record(line_no: int, data: st.DataObject) -> None:
    """Line 0 is the header and the last line the trailer; lines 1..n are records 1..n."""
    offset = data.draw(st.integers(0, len(LINES[line_no]) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(DATA)
    tampered[STARTS[line_no] + offset] ^= flip
    verdict = verdict_of(bytes(tampered))
    assert not verdict.ok
    assert verdict.line == line_no + 1
    # The position named is the one the line claims, which the flip may itself have changed.
    assert verdict.position is None or verdict.position == line_no or b'"position"' in LINES[line_no]


def test_the_incremental_verifier_agrees_with_verify_export_and_stops_at_the_first_break() -> None:
    lines = export(chained(5)).splitlines()  # without line ends, as a stream split into lines
    fed = ExportVerifier()
    for line in lines:
        fed.feed(line)
    assert fed.verdict() == verify_export(lines) and fed.verdict().ok
    broken = [*lines[:2], lines[3], *lines[2:]]  # position 3 before 2
    fed = ExportVerifier()
    for line in broken:
        fed.feed(line)
    assert fed.broken
    assert fed.verdict() == verify_export(broken)
    assert (fed.verdict().line, fed.verdict().position) == (3, 3)
