"""Follow the ledger and grow its Merkle tree (tiles in PostgreSQL); sign checkpoints as it grows.

Like a projection: each batch of leaves and the tree's size (its tracking position) are written
in one transaction under an advisory lock, so a crash resumes exactly where it stopped and two
followers never interleave. It is not one of `ProjectionRunner`'s read models because it hashes
every event's stored bytes (in SQL), whatever its topic, and decodes none. The right edge of the tree
stays in memory between batches; another follower having moved the tree makes this one reload
it from the stored tiles.

While appends happen a checkpoint is signed at least every `checkpoint_seconds` (and at most
that often): a proof for a fresh event can be served within about a second, and readers that
need one sooner sign it themselves (`adapters/postgres/checkpoints.covering`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math

import asyncpg
import structlog

from adapters.crypto.signing import ledger_signer
from adapters.postgres import checkpoints
from adapters.postgres.availability import availability_of
from adapters.postgres.merkle_tiles import LEAF_OF_ROW, TREE, read_records, tree_size, write_tiles
from adapters.postgres.pool import Connection
from adapters.resilience import forever, wait_or_timeout
from adapters.settings import Settings
from ledger.signed_note import NoteSigner
from ledger.tiles import TreeTiles, needed_tiles
from projections.projection import lock_key

log = structlog.get_logger(__name__)

# Each event's leaf hash, SHA-256(0x00 ‖ its canonical record bytes; `ledger.chain`): the one the
# append stored with it (migration 100), else computed by PostgreSQL from the stored columns
# (events from before that migration, or restored from a backup). 32 bytes an event cross the
# wire, and this process (which may be the one appending) hashes only the tree's interior.
# `tests/integration/test_merkle_tree.py` checks the roots against an RFC 9162 implementation
# over `ledger.chain.canonical`, both ways.
_LEAVES = (
    f"SELECT coalesce(leaf_hash, {LEAF_OF_ROW}) FROM events "  # noqa: S608 (constants only)
    "WHERE notification_id > $1 AND notification_id <= $2 ORDER BY notification_id"
)


class MerkleTreeFollower:
    """Keeps `merkle_tiles` equal to the tree over every event; signs checkpoints with `signer`."""

    name = TREE

    def __init__(
        self,
        pool: asyncpg.Pool,
        signer: NoteSigner | None = None,
        *,
        batch_size: int = 10_000,
        checkpoint_seconds: float = 1.0,
        poll_interval: float = 1.0,
        min_interval: float = 0.5,
    ) -> None:
        self.pool = pool
        self.signer = signer
        self.batch_size = batch_size
        self.checkpoint_seconds = checkpoint_seconds
        self.poll_interval = poll_interval
        self.min_interval = min_interval
        self._tree: TreeTiles | None = None
        self._signed_at = -math.inf
        self._wake = asyncio.Event()

    async def run_forever(self) -> None:
        """Catch up, then follow the ledger until cancelled; failures are logged and retried."""
        await forever(self._follow, "merkle tree follower", availability=availability_of(self.pool))

    async def _follow(self) -> None:
        while True:
            added = await self.catch_up()
            wait = await self.checkpoint_if_due() if self.signer else math.inf
            if added:
                # Appends are coming: rest a little, then take all that came meanwhile. Rounds
                # then take hundreds of events at once instead of a few, and no notification
                # of each commit is listened to (each would wake this process for nothing).
                await asyncio.sleep(min(self.min_interval, wait))
            else:
                await self._until_appended(min(wait, self.poll_interval))

    async def _until_appended(self, timeout: float) -> None:
        """While the ledger is still: listen for its next append (or `timeout`)."""
        async with self.pool.acquire() as listener:
            self._wake.clear()
            await listener.add_listener("ledger_events", self._notified)
            try:
                if not await self.catch_up():  # nothing appended before the listening began
                    await wait_or_timeout(self._wake, timeout)
            finally:
                with contextlib.suppress(Exception):  # the connection may be mid-cancellation
                    await listener.remove_listener("ledger_events", self._notified)

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def catch_up(self) -> int:
        """Add batches of leaves until the tree reaches the ledger head as it was when called;
        return leaves added. (Not the head as it moves: under a stream of appends that would
        be a round every few milliseconds, each rewriting the same partial tiles.)"""
        added = 0
        target = int(await self.pool.fetchval("SELECT position FROM ledger_head"))
        while True:
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    count = await self._advance(conn, target)
            except BaseException:
                self._tree = None  # the batch may not have been stored: reload next time
                raise
            if not count:
                return added
            added += count

    async def _advance(self, conn: Connection, target: int) -> int:
        await conn.execute(f"SELECT pg_advisory_xact_lock({lock_key('$1')})", TREE)
        await conn.execute("INSERT INTO projection_tracking (name) VALUES ($1) ON CONFLICT DO NOTHING", TREE)
        size = await tree_size(conn)
        upto = min(size + self.batch_size, target)
        if upto <= size:
            return 0
        tree = await self._tree_at(conn, size)
        leaves = [r[0] for r in await conn.fetch(_LEAVES, size, upto)]
        if len(leaves) != upto - size:
            raise RuntimeError(f"events {size + 1}…{upto} are not all there: the ledger has a gap")
        tree.append(leaves)
        await write_tiles(conn, tree.take_changed())
        await conn.execute("UPDATE projection_tracking SET position = $2 WHERE name = $1", TREE, upto)
        return upto - size

    async def _tree_at(self, conn: Connection, size: int) -> TreeTiles:
        if self._tree is None or self._tree.size != size:
            self._tree = TreeTiles.resume(size, await read_records(conn, needed_tiles(size)))
        return self._tree

    async def checkpoint_if_due(self) -> float:
        """Sign a checkpoint of the tree as it is, unless the last one is that size or was signed
        less than `checkpoint_seconds` ago; return the seconds until one is due (inf: none)."""
        assert self.signer is not None
        size = await tree_size(self.pool)
        newest = await checkpoints.latest(self.pool)
        if newest is not None and newest.size >= size:
            return math.inf
        now = asyncio.get_running_loop().time()
        if (wait := self._signed_at + self.checkpoint_seconds - now) > 0:
            return wait
        await checkpoints.sign_at(self.pool, self.signer, size)
        self._signed_at = now
        return math.inf


def tree_follower(pool: asyncpg.Pool, settings: Settings) -> MerkleTreeFollower:
    """The follower `serve` and `project` run, signing with `OPTIN_SIGNING_KEY` when set."""
    signer = ledger_signer(settings.signing_key, settings.log_origin)
    if signer is None:
        log.warning("no OPTIN_SIGNING_KEY: the Merkle tree is kept, but no checkpoint is signed")
    return MerkleTreeFollower(pool, signer, checkpoint_seconds=settings.checkpoint_seconds)
