"""The hash chain: deterministic, sensitive to every field, and breaks are named."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID

from ledger.chain import GENESIS_HASH, ChainRecord, canonical, first_break, link

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
ID = UUID("12345678-1234-5678-1234-567812345678")


def record(n: int, **changes: object) -> ChainRecord:
    base = ChainRecord(n, ID, n, "optin.created", b'{"n":%d}' % n, T0)
    return replace(base, **changes)  # type: ignore[arg-type]


def chain(records: list[ChainRecord]) -> list[tuple[ChainRecord, bytes]]:
    rows, prev = [], GENESIS_HASH
    for r in records:
        prev = link(prev, r)
        rows.append((r, prev))
    return rows


def test_link_is_sha256_of_previous_hash_and_canonical_record() -> None:
    r = record(1)
    assert link(GENESIS_HASH, r) == hashlib.sha256(GENESIS_HASH + canonical(r)).digest()


def test_every_field_changes_the_hash() -> None:
    base = link(GENESIS_HASH, record(1))
    variants = [
        record(1, notification_id=2),
        record(1, originator_id=UUID(int=1)),
        record(1, originator_version=2),
        record(1, topic="optin.renamed"),
        record(1, state=b'{"n":2}'),
        record(1, recorded_at=T0.replace(microsecond=678902)),
    ]
    assert all(link(GENESIS_HASH, v) != base for v in variants)


def test_length_prefixes_keep_topic_and_state_apart() -> None:
    a = record(1, topic="ab", state=b"c")
    b = record(1, topic="a", state=b"bc")
    assert canonical(a) != canonical(b)


def test_intact_chain_has_no_break() -> None:
    assert first_break(chain([record(n) for n in range(1, 6)])) is None


def test_tampered_state_is_named_at_its_position() -> None:
    rows = chain([record(n) for n in range(1, 6)])
    tampered = [*rows[:2], (replace(rows[2][0], state=b"{}"), rows[2][1]), *rows[3:]]
    broken = first_break(tampered)
    assert broken is not None
    assert broken.notification_id == 3


def test_missing_record_is_a_break() -> None:
    rows = chain([record(n) for n in range(1, 6)])
    broken = first_break(rows[:2] + rows[3:])
    assert broken is not None
    assert broken.notification_id == 4
    assert "expected position 3" in broken.reason
