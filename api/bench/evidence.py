"""`bench evidence`: the Merkle tree's costs, on a scratch ledger of `leaves` events.

- tree build: the follower hashing every event into tiles from an empty tree (leaves/s);
- inclusion proofs: a tlog-proof of a random event against the latest checkpoint, p50/p99;
- bundle: a contact's evidence bundle with 100 events spread over the ledger (ms);
- appends with the tree followed (a follower signing a checkpoint every second, as `serve`
  runs it) against appends without, in alternating rounds on the same database: the ratio;
- the alternative measured too: leaf hashes computed inside the append's transaction (a
  statement trigger hashing the same bytes in SQL), the lower bound of doing the tree there.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import asyncpg

from adapters.clock import SystemClock
from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.crypto.signing import Ed25519Signer
from adapters.postgres import checkpoints
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.merkle_tiles import LEAF_OF_ROW
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool
from adapters.postgres.transparency_log import TransparencyLog
from adapters.runtime import collector_paused, settle_heap
from api.bench.scratch import scratch_schema
from api.evidence import Evidence
from ledger.consent import Evidence as ConsentEvidence
from ledger.consent import open_consent
from ledger.contact import register_contact
from ledger.ports import StoredEvent
from ledger.program import new_program
from ledger.receipt import Controller
from ledger.repository import Repository
from ledger.vocabulary import SYSTEM
from projections.evidence_index import EvidenceIndexProjection
from projections.merkle_tree import MerkleTreeFollower
from projections.runner import ProjectionRunner

TOPIC = "bench.recorded"
STATE = b'{"actor":{"kind":"system"},"source":"api","note":"' + b"x" * 160 + b'"}'
_CONTACT_EVENTS = 100
_INLINE_LEAF = f"""
CREATE TABLE merkle_leaves_inline (position bigint PRIMARY KEY, leaf bytea NOT NULL);
CREATE FUNCTION merkle_leaf_inline() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO merkle_leaves_inline SELECT notification_id, {LEAF_OF_ROW} FROM new_rows;
    RETURN NULL;
END
$$;
CREATE TRIGGER merkle_leaf_inline AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION merkle_leaf_inline();
"""  # noqa: S608 (constants only)


async def run(dsn: str, leaves: int, seconds: float, tasks: int, role: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {"leaves": leaves}
    async with scratch_schema(dsn, "evidence") as schema:
        await migrate(dsn, schema=schema)
        pool = await create_pool(dsn, role=role, schema=schema, min_size=4, max_size=12)
        try:
            signer = Ed25519Signer(secrets.token_bytes(32), "bench.example/v1/ledger")
            kek = secrets.token_bytes(32)
            contact_id = await _fill(pool, kek, leaves)
            result |= await _build(pool)
            settle_heap()  # as `serve` does once started: no full collections over start-up objects
            await checkpoints.sign_at(pool, signer, await _head(pool))
            log = TransparencyLog(pool, signer)
            result |= await _proofs(log, await _head(pool))
            result |= await _bundle(pool, log, PostgresDataKeys(pool, kek), contact_id)
            result |= await _appends(pool, signer, seconds, tasks)
            result |= await _inline(dsn, schema, pool, seconds, tasks)
        finally:
            await pool.close()
    return result


async def _head(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT position FROM ledger_head"))


async def _fill(pool: asyncpg.Pool, kek: bytes, leaves: int) -> uuid.UUID:
    """`leaves` events in 5,000-event appends, one contact's 100 events spread evenly among them."""
    store = PostgresEventStore(pool)
    repository = Repository(store)
    contact = uuid.uuid4()
    key = await PostgresDataKeys(pool, kek).create(contact)
    address = NaclSealer(secrets.token_bytes(32)).seal(key, "+15550100")
    program = new_program(name="Bench offers", description="", purpose="marketing", channels=("sms",),
                          disclosure="Bench offers by SMS. Reply STOP to stop.", actor=SYSTEM)  # fmt: skip
    consent = open_consent(contact, program.id, "sms")
    written = await repository.save(
        program, register_contact(contact, channel="sms", sealed_address=address, actor=SYSTEM)
    )
    spacing = max(1, leaves // _CONTACT_EVENTS)
    with collector_paused():
        for n in range(_CONTACT_EVENTS - 2):  # + registered + opened: 100 events of the contact
            written += await _filler(store, min(leaves, (n + 1) * spacing) - written)
            keyword = "START" if n % 2 == 0 else "STOP"
            evidence = ConsentEvidence(actor=SYSTEM, source="sms_keyword", keyword=keyword)
            if n % 2 == 0:
                consent.grant(evidence)
            else:
                consent.withdraw(evidence)
            written = await repository.save(consent)
        await _filler(store, leaves - written)
    return contact


async def _filler(store: PostgresEventStore, count: int) -> int:
    """Append `count` filler events in chunks (a fresh stream each chunk)."""
    done = 0
    while done < count:
        chunk = min(5000, count - done)
        await store.append([StoredEvent(uuid.uuid4(), v, TOPIC, STATE) for v in range(1, chunk + 1)])
        done += chunk
    return max(done, 0)


async def _build(pool: asyncpg.Pool) -> dict[str, Any]:
    follower = MerkleTreeFollower(pool, batch_size=50_000)
    started = time.perf_counter()
    with collector_paused():
        built = await follower.catch_up()
    elapsed = time.perf_counter() - started
    return {"tree_build_seconds": round(elapsed, 2), "tree_build_leaves_per_s": round(built / elapsed)}


async def _proofs(log: TransparencyLog, head: int, samples: int = 2000) -> dict[str, Any]:
    """A tlog-proof of a random event against the latest checkpoint, as the route serves it."""
    rng = random.Random(1)
    timings = []
    for _ in range(samples):
        position = rng.randint(1, head)
        started = time.perf_counter()
        await log.proof(position)
        timings.append((time.perf_counter() - started) * 1000)
    return {"proof_samples": samples, "proof_p50_ms": _pct(timings, 50), "proof_p99_ms": _pct(timings, 99)}


async def _bundle(
    pool: asyncpg.Pool, log: TransparencyLog, keys: PostgresDataKeys, contact: uuid.UUID
) -> dict[str, Any]:
    index = EvidenceIndexProjection()
    await ProjectionRunner(pool, [index], batch_size=10_000).catch_up(index)
    controller = Controller(
        name="Bench", url="https://bench.example", email="a@bench.example", jurisdiction="US"
    )
    evidence = Evidence(pool, log, keys, controller, Repository(PostgresEventStore(pool)), SystemClock())
    timings, events = [], 0
    for _ in range(20):
        started = time.perf_counter()
        document = await evidence.bundle(contact, datetime.now(UTC))
        timings.append((time.perf_counter() - started) * 1000)
        events = len(document.events)
    return {
        "bundle_events": events,
        "bundle_p50_ms": _pct(timings, 50),
        "bundle_max_ms": round(max(timings), 2),
    }


async def _append_rate(pool: asyncpg.Pool, seconds: float, tasks: int) -> float:
    """Appends per second: `tasks` writers, one event per call, as `bench append` does."""
    store = PostgresEventStore(pool)
    deadline = time.perf_counter() + seconds

    async def writer() -> int:
        stream, n = uuid.uuid4(), 0
        while time.perf_counter() < deadline:
            n += 1
            await store.append([StoredEvent(stream, n, TOPIC, STATE)])
        return n

    try:
        return sum(await asyncio.gather(*(writer() for _ in range(tasks)))) / seconds
    finally:
        await store.close()


async def _appends(pool: asyncpg.Pool, signer: Ed25519Signer, seconds: float, tasks: int) -> dict[str, Any]:
    """Alternating rounds without and with the tree follower running (and signing checkpoints)."""
    follower = MerkleTreeFollower(pool, signer, checkpoint_seconds=1.0)
    off: list[float] = []
    on: list[float] = []
    for round_ in range(6):  # alternating which goes first: a busy machine drifts
        await follower.catch_up()
        if round_ % 2:
            await _with(follower.run_forever, lambda: _timed(on, pool, seconds, tasks))
            off.append(await _append_rate(pool, seconds, tasks))
        else:
            off.append(await _append_rate(pool, seconds, tasks))
            await _with(follower.run_forever, lambda: _timed(on, pool, seconds, tasks))
    await follower.catch_up()
    return {
        "append_tree_off_per_s": round(statistics.median(off), 1),
        "append_tree_on_per_s": round(statistics.median(on), 1),
        "append_ratio_tree_on_vs_off": round(statistics.median(on) / statistics.median(off), 3),
        "append_rounds_off_on": [[round(a), round(b)] for a, b in zip(off, on, strict=True)],
        "tree_caught_up": await MerkleTreeFollower(pool).catch_up() == 0,
    }


async def _timed(rates: list[float], pool: asyncpg.Pool, seconds: float, tasks: int) -> None:
    rates.append(await _append_rate(pool, seconds, tasks))


async def _with(
    background: Callable[[], Coroutine[Any, Any, None]], main: Callable[[], Awaitable[None]]
) -> None:
    task = asyncio.create_task(background())
    try:
        await main()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _inline(dsn: str, schema: str, pool: asyncpg.Pool, seconds: float, tasks: int) -> dict[str, Any]:
    """The alternative: leaf hashes computed in the append's own transaction (a statement
    trigger, hashing in SQL); checked against the follower's leaves."""
    owner = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        before = statistics.median([await _append_rate(pool, seconds, tasks) for _ in range(2)])
        await owner.execute(_INLINE_LEAF)
        inline = statistics.median([await _append_rate(pool, seconds, tasks) for _ in range(2)])
        await MerkleTreeFollower(pool).catch_up()
        mismatched = await owner.fetchval(
            "SELECT count(*) FROM merkle_leaves_inline i JOIN merkle_tiles t "
            "ON t.level = 0 AND t.idx = (i.position - 1) / 256 "
            "WHERE substring(t.nodes FROM ((i.position - 1) % 256)::int * 32 + 1 FOR 32) <> i.leaf"
        )
        await owner.execute("DROP TRIGGER merkle_leaf_inline ON events; DROP TABLE merkle_leaves_inline")
    finally:
        await owner.close()
    return {
        "append_inline_leaf_per_s": round(inline, 1),
        "append_ratio_inline_leaf_vs_off": round(inline / before, 3),
        "inline_leaves_differing_from_follower": int(mismatched),
    }


def _pct(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100)[q - 1], 3)
