"""Signed checkpoints in PostgreSQL (`ledger_checkpoints`): sign, keep every one, find by size.

The log must never sign a tree head inconsistent with one it signed before (c2sp.org/
tlog-checkpoint): before signing, the tree's root at the last stored checkpoint's size is
recomputed from the stored tiles and must be the root that checkpoint signed. Tiles rewritten
behind the service's back (by someone able to disable the triggers) are refused here; deleted
checkpoints and rebuilt tiles are what a monitor holding an older checkpoint catches.
"""

from __future__ import annotations

import asyncio

import asyncpg

from adapters.postgres.merkle_tiles import TREE, Db, TreeNotReadyError, root_at, tree_size
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.signed_note import NoteSigner

_COLUMNS = "size, root, note"


class ForkError(RuntimeError):
    """The stored tree no longer extends a checkpoint already signed: refuse to sign again."""


def _checkpoint(row: asyncpg.Record | None) -> Checkpoint | None:
    if row is None:
        return None
    note: str = row["note"]
    return Checkpoint(origin=note.partition("\n")[0], size=row["size"], root=bytes(row["root"]), note=note)


async def latest(db: Db, *, at_most: int | None = None) -> Checkpoint | None:
    """The checkpoint of the largest size (no larger than `at_most`)."""
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM ledger_checkpoints WHERE size <= coalesce($1, size) "  # noqa: S608
        "ORDER BY size DESC LIMIT 1",
        at_most,
    )
    return _checkpoint(row)


async def at_size(db: Db, size: int) -> Checkpoint | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM ledger_checkpoints WHERE size = $1", size)  # noqa: S608
    return _checkpoint(row)


async def sign_at(pool: asyncpg.Pool, signer: NoteSigner, size: int) -> Checkpoint:
    """Sign and store the checkpoint of the tree's first `size` leaves (idempotent: Ed25519 is
    deterministic), after checking the tree still extends the last checkpoint signed.

    Under the tree follower's lock, so that the root read and the checkpoint stored belong to
    the same tree: a tree being rebuilt meanwhile can never get a checkpoint of the old one."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('projection:' || $1))", TREE)
        if await tree_size(conn) < size:
            raise TreeNotReadyError(f"the Merkle tree has not reached size {size}")
        previous = await latest(conn, at_most=size)
        if previous is not None and await root_at(conn, previous.size) != previous.root:
            raise ForkError(f"the stored tree no longer matches checkpoint {previous.size}; not signing")
        checkpoint = sign_checkpoint(signer, size, await root_at(conn, size))
        await conn.execute(
            "INSERT INTO ledger_checkpoints (size, root, note) VALUES ($1, $2, $3) "
            "ON CONFLICT (size) DO NOTHING",
            checkpoint.size,
            checkpoint.root,
            checkpoint.note,
        )
        stored = await at_size(conn, size)
    if stored is None or stored.root != checkpoint.root:
        raise ForkError(f"a checkpoint of size {size} with another root is already stored")
    return stored


async def covering(
    pool: asyncpg.Pool, signer: NoteSigner, position: int, *, timeout: float = 2.0
) -> Checkpoint:
    """A stored checkpoint whose tree includes `position`: the latest, or a new one signed as soon
    as the tree's follower has reached it (`TreeNotReadyError` after `timeout`)."""
    newest = await latest(pool)
    if newest is not None and newest.size >= position:
        return newest
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (size := await tree_size(pool)) < position:
        if loop.time() >= deadline:
            raise TreeNotReadyError(f"the Merkle tree has not reached position {position} yet")
        await asyncio.sleep(0.01)
    return await sign_at(pool, signer, size)
