"""The ledger's hash chain: one canonical byte form per stored event, hashed onto the previous one.

`hash = sha256(prev_hash || canonical(record))`, with the first `prev_hash` all zeros. The store
computes it here when it appends, and anyone verifying rows or an export offline recomputes it
with the same code. Every integer is big-endian; strings and bytes carry a 4-byte length prefix so
no two records share a byte form.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

GENESIS_HASH = bytes(32)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class ChainRecord:
    """The fields of a stored event that the chain covers."""

    notification_id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    recorded_at: datetime


def epoch_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch, exactly (no float rounding)."""
    return (moment - _EPOCH) // _MICROSECOND


_HEAD = struct.Struct(">q16sqi")
_INT4 = struct.Struct(">i")
_INT8 = struct.Struct(">q")


def canonical_parts(
    notification_id: int,
    originator_id: UUID,
    originator_version: int,
    topic: str,
    state: bytes,
    recorded_at_micros: int,
) -> bytes:
    """The byte form the chain hashes, from the record's fields (time as epoch microseconds)."""
    return canonical_bytes(
        notification_id, originator_id.bytes, originator_version, topic, state, recorded_at_micros
    )


def canonical_bytes(
    notification_id: int,
    originator_id: bytes,
    originator_version: int,
    topic: str,
    state: bytes,
    recorded_at_micros: int,
) -> bytes:
    """`canonical_parts` with the originator id as its 16 bytes (as a database sends it raw)."""
    return encoded_record(
        notification_id, originator_id, originator_version, topic.encode(), state, recorded_at_micros
    )


def encoded_record(
    notification_id: int,
    originator_id: bytes,
    originator_version: int,
    topic: bytes,
    state: bytes,
    recorded_at_micros: int,
) -> bytes:
    """`canonical_bytes` with the topic already UTF-8 encoded (a batch encodes each topic once)."""
    return b"".join(
        (
            _HEAD.pack(notification_id, originator_id, originator_version, len(topic)),
            topic,
            _INT4.pack(len(state)),
            state,
            _INT8.pack(recorded_at_micros),
        )
    )


def canonical(record: ChainRecord) -> bytes:
    """The byte form of one record that the chain hashes."""
    return canonical_parts(
        record.notification_id,
        record.originator_id,
        record.originator_version,
        record.topic,
        record.state,
        epoch_micros(record.recorded_at),
    )


def link(prev_hash: bytes, record: ChainRecord) -> bytes:
    """The hash of `record` chained onto `prev_hash`."""
    return hashlib.sha256(prev_hash + canonical(record)).digest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where a chain stopped verifying, and why."""

    notification_id: int
    reason: str


def first_break(
    rows: Iterable[tuple[ChainRecord, bytes]], prev_hash: bytes = GENESIS_HASH
) -> ChainBreak | None:
    """Recompute the chain over `(record, stored_hash)` pairs; name the first record that fails.

    Positions must follow each other without gaps, starting right after `prev_hash`'s record.
    """
    expected_id: int | None = None
    for record, stored_hash in rows:
        if expected_id is not None and record.notification_id != expected_id:
            return ChainBreak(record.notification_id, f"expected position {expected_id}")
        if link(prev_hash, record) != stored_hash:
            return ChainBreak(record.notification_id, "hash does not match the record")
        prev_hash = stored_hash
        expected_id = record.notification_id + 1
    return None
