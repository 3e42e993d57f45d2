"""Chain hashes and Merkle leaves for a run of events at once, as the store appends them.

The bytes are `chain.canonical`'s and `merkle.leaf_hash`'s for each record (tests/unit compare
them): one recording time for the run, each topic encoded once. The append path does this for
every event while a batch waits, so the saving shortens every batch's turn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from uuid import UUID

from ledger.chain import encoded_record
from ledger.merkle import leaf_hash
from ledger.ports import StoredEvent


def chain_events(
    position: int, prev_hash: bytes, events: Iterable[StoredEvent], recorded_at_micros: int
) -> tuple[list[bytes], list[bytes]]:
    """Each event's chain hash and Merkle leaf hash, the first at `position + 1` chained onto
    `prev_hash`, all recorded at `recorded_at_micros` (epoch microseconds)."""
    sha256 = hashlib.sha256
    topics: dict[str, bytes] = {}
    hashes: list[bytes] = []
    leaves: list[bytes] = []
    for e in events:
        position += 1
        topic = topics.get(e.topic)
        if topic is None:
            topic = topics[e.topic] = e.topic.encode()
        oid = e.originator_id
        raw_id = (oid if isinstance(oid, UUID) else UUID(oid)).bytes
        record = encoded_record(position, raw_id, e.originator_version, topic, e.state, recorded_at_micros)
        prev_hash = sha256(prev_hash + record).digest()
        hashes.append(prev_hash)
        leaves.append(leaf_hash(record))
    return hashes, leaves
