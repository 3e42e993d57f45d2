"""The Merkle tree follower on real PostgreSQL: tiles, roots, proofs and checkpoints, checked by
the test-only RFC 9162 implementation (tests/rfc9162.py) and the offline verifier."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from adapters.crypto.signing import Ed25519Signer
from adapters.postgres import checkpoints
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.merkle_tiles import (
    TreeNotReadyError,
    consistency_proof,
    inclusion_proof,
    read_tile,
    root_at,
    tree_size,
)
from ledger.chain import ChainRecord, canonical, canonical_parts, epoch_micros
from ledger.ports import StoredEvent
from projections.merkle_tree import MerkleTreeFollower
from tests import rfc9162
from verifier import optin_verify

pytestmark = pytest.mark.integration

ORIGIN = "ledger.example/v1/ledger"


def signer() -> Ed25519Signer:
    return Ed25519Signer(secrets.token_bytes(32), ORIGIN)


async def append(store: PostgresEventStore, count: int, per_call: int = 50) -> None:
    stream = uuid.uuid4()
    for start in range(0, count, per_call):
        await store.append(
            [
                StoredEvent(stream, v, "test.happened", b'{"n":%d}' % v)
                for v in range(start + 1, min(start + per_call, count) + 1)
            ]
        )


async def records(store: PostgresEventStore) -> list[bytes]:
    """Every event's canonical bytes: the leaves' data, as the chain module defines them."""
    rows = await store.read_after(0, 1_000_000)
    return [
        canonical(
            ChainRecord(
                r.notification_id, r.originator_id, r.originator_version, r.topic, r.state, r.recorded_at
            )
        )
        for r in rows
    ]


async def test_the_tree_is_rfc_9162_over_the_events_records(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    follower = MerkleTreeFollower(pool, batch_size=97)
    await append(store, 300)
    assert await follower.catch_up() == 300
    await append(store, 333)
    assert await follower.catch_up() == 333
    data = await records(store)
    assert await tree_size(pool) == 633
    for size in (1, 2, 255, 256, 257, 300, 512, 633):
        root = rfc9162.mth(data[:size])
        assert await root_at(pool, size) == root
        for index in {0, size // 3, size - 1}:
            path = await inclusion_proof(pool, index, size)
            assert path == rfc9162.path(index, data[:size])
            assert rfc9162.verify_inclusion(index, size, rfc9162.mth([data[index]]), path, root)
        consistency = await consistency_proof(pool, size, 633)
        assert consistency == rfc9162.proof(size, data)
        assert rfc9162.verify_consistency(size, 633, root, rfc9162.mth(data), consistency)


async def test_leaves_hash_any_topic_and_state_bytes_as_the_chain_does(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    stream = uuid.uuid4()
    await store.append(
        [StoredEvent(stream, v, f"tëst.hâppened.{'é' * v}", secrets.token_bytes(v * 7)) for v in range(1, 40)]
    )
    await MerkleTreeFollower(pool).catch_up()
    assert await root_at(pool, 39) == rfc9162.mth(await records(store))


async def test_a_new_follower_resumes_from_the_stored_tiles(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    await append(store, 260)
    assert await MerkleTreeFollower(pool).catch_up() == 260
    await append(store, 70)
    assert await MerkleTreeFollower(pool).catch_up() == 70
    assert await root_at(pool, 330) == rfc9162.mth(await records(store))


async def test_tiles_are_served_as_c2sp_tlog_tiles(pool: asyncpg.Pool, store: PostgresEventStore) -> None:
    await append(store, 300)
    await MerkleTreeFollower(pool).catch_up()
    data = await records(store)
    full = await read_tile(pool, 0, 0, 256)
    assert full == b"".join(rfc9162.mth([d]) for d in data[:256])
    assert await read_tile(pool, 0, 1, 44) == b"".join(rfc9162.mth([d]) for d in data[256:300])
    assert await read_tile(pool, 1, 0, 1) == rfc9162.mth(data[:256])
    assert await read_tile(pool, 0, 1, 45) is None  # wider than the tree
    assert await read_tile(pool, 0, 2, 1) is None


async def test_checkpoints_are_signed_notes_the_offline_verifier_accepts(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    key = signer()
    follower = MerkleTreeFollower(pool, key, checkpoint_seconds=0.0)
    await append(store, 10)
    await follower.catch_up()
    await follower.checkpoint_if_due()
    first = await checkpoints.latest(pool)
    assert first is not None and first.size == 10
    vkey = optin_verify.Key(key.verifier_key)
    assert optin_verify.parse_checkpoint(first.note, vkey) == (10, rfc9162.mth(await records(store)))
    await append(store, 5)
    await follower.catch_up()
    await follower.checkpoint_if_due()
    second = await checkpoints.latest(pool)
    assert second is not None and second.size == 15
    assert await checkpoints.at_size(pool, 10) == first
    path = await consistency_proof(pool, 10, 15)
    assert optin_verify.verify_consistency(10, 15, first.root, second.root, path)
    assert rfc9162.verify_consistency(10, 15, first.root, second.root, path)


async def test_covering_signs_a_checkpoint_once_the_tree_reaches_the_position(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    key = signer()
    await append(store, 3)
    with pytest.raises(TreeNotReadyError):
        await checkpoints.covering(pool, key, 3, timeout=0.05)
    await MerkleTreeFollower(pool).catch_up()
    covering = await checkpoints.covering(pool, key, 3)
    assert covering.size == 3
    assert await checkpoints.covering(pool, key, 2) == covering  # the latest serves


async def test_the_service_role_cannot_rewrite_tiles_or_checkpoints(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    key = signer()
    await append(store, 4)
    await MerkleTreeFollower(pool).catch_up()
    await checkpoints.sign_at(pool, key, 4)
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE merkle_tiles SET nodes = overlay(nodes placing '\\x00'::bytea from 1)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM ledger_checkpoints")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM merkle_tiles")


async def test_a_tree_that_no_longer_extends_the_last_checkpoint_is_not_signed(
    pool: asyncpg.Pool, store: PostgresEventStore, database_url: str
) -> None:
    key = signer()
    await append(store, 20)
    await MerkleTreeFollower(pool).catch_up()
    await checkpoints.sign_at(pool, key, 20)
    owner = await asyncpg.connect(database_url)  # the tables' owner, who can lift the trigger
    try:
        await owner.execute("ALTER TABLE merkle_tiles DISABLE TRIGGER merkle_tiles_grow")
        await owner.execute("UPDATE merkle_tiles SET nodes = decode(repeat('ab', 510 * 32), 'hex')")
        await owner.execute("ALTER TABLE merkle_tiles ENABLE TRIGGER merkle_tiles_grow")
    finally:
        await owner.close()
    await append(store, 1)
    await MerkleTreeFollower(pool).catch_up()
    with pytest.raises(checkpoints.ForkError, match="no longer matches checkpoint 20"):
        await checkpoints.sign_at(pool, key, 21)
    assert (await checkpoints.latest(pool)).size == 20  # type: ignore[union-attr]


async def test_stored_leaves_are_the_records_leaves_and_events_without_one_are_hashed_in_sql(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    await append(store, 40)
    stored = [r[0] for r in await pool.fetch("SELECT leaf_hash FROM events ORDER BY notification_id")]
    assert stored == [rfc9162.mth([record]) for record in await records(store)]
    # An event with no stored leaf: appended by the previous version's function (a rolling update).
    row = await pool.fetchrow("SELECT position, hash FROM ledger_head")
    assert row is not None
    head, head_hash = row
    stream, at = uuid.uuid4(), datetime.now(UTC)
    state = "tëst".encode() + secrets.token_bytes(9)
    prev = hashlib.sha256(
        head_hash + canonical_parts(head + 1, stream, 1, "tëst.old", state, epoch_micros(at))
    )
    written = await pool.fetchval(
        "SELECT written FROM ledger_append_onto($1, $2, $3::uuid[], $4::bigint[], $5::text[], "
        "$6::bytea[], $7::bytea[], $8)",
        head, head_hash, [stream], [1], ["tëst.old"], [state], [prev.digest()], at,
    )  # fmt: skip
    assert written
    assert await pool.fetchval("SELECT leaf_hash FROM events WHERE notification_id = $1", head + 1) is None
    await append(store, 5)
    await MerkleTreeFollower(pool).catch_up()
    assert await root_at(pool, 46) == rfc9162.mth(await records(store))


async def test_a_follower_at_rest_is_woken_by_the_next_append_and_keeps_up_with_a_stream(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    """At rest the follower listens for the ledger's notification (the poll here is far too slow
    to explain a prompt tree); while appends stream in it takes them in rounds, and it reaches
    the head once they stop."""
    follower = MerkleTreeFollower(pool, poll_interval=60.0, min_interval=0.05)
    running = asyncio.create_task(follower.run_forever())
    try:
        await asyncio.sleep(0.3)  # caught up with nothing: resting, listening
        await append(store, 1)
        await until_tree_size(pool, 1, within=5.0)
        for _ in range(20):  # a stream: the follower works in rounds while it lasts
            await append(store, 25, per_call=5)
        head = await store.head()
        await until_tree_size(pool, head, within=5.0)
        await asyncio.sleep(0.3)  # at rest again: the next single append wakes it
        await append(store, 1)
        await until_tree_size(pool, head + 1, within=5.0)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def until_tree_size(pool: asyncpg.Pool, size: int, within: float) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while (now := await tree_size(pool)) < size:
        assert asyncio.get_running_loop().time() < deadline, f"tree at {now}, not {size}"
        await asyncio.sleep(0.02)
