"""The Merkle tree's tiles in PostgreSQL (`merkle_tiles`): write them, read nodes, proofs, tiles.

Every hash a root or a proof needs is one stored node (`ledger/tiles.py`), so a proof is one
query that reads the 32-byte slices it needs (O(log n) of them), whatever the tree's size.
The tree's size is its follower's tracking position (`projection_tracking`, `merkle_tree`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

import asyncpg

from adapters.postgres.pool import Connection
from ledger.merkle import (
    Node,
    NodeLookup,
    Range,
    consistency_ranges,
    inclusion_ranges,
    nodes_of,
    proof_hashes,
    root_hash,
)
from ledger.tiles import HASH_SIZE, TileId, node_slot

TREE = "merkle_tree"
"""The follower's name in `projection_tracking`: its position is the tree's size."""

LEAF_OF_ROW = (
    "sha256('\\x00'::bytea || int8send(notification_id) || uuid_send(originator_id) "
    "|| int8send(originator_version) || int4send(octet_length(convert_to(topic, 'UTF8'))) "
    "|| convert_to(topic, 'UTF8') || int4send(octet_length(state)) || state "
    "|| int8send((extract(epoch FROM recorded_at) * 1000000)::bigint))"
)
"""An events row's leaf hash in SQL, SHA-256(0x00 ‖ its canonical record; `ledger.chain`), from
its stored columns (unqualified, for any query over rows shaped like `events`)."""

_NODES = (
    "SELECT q.n, substring(t.nodes FROM q.off + 1 FOR 32) FROM "
    "unnest($1::smallint[], $2::bigint[], $3::int[]) WITH ORDINALITY AS q(level, idx, off, n) "
    "JOIN merkle_tiles t ON t.level = q.level AND t.idx = q.idx"
)
_WRITE = (
    "INSERT INTO merkle_tiles (level, idx, width, nodes) "
    "SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::smallint[], $4::bytea[]) "
    "ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width, nodes = excluded.nodes "
    "WHERE merkle_tiles.width < excluded.width"
)
_ZERO = bytes(HASH_SIZE)

Db: TypeAlias = "asyncpg.Pool | Connection"


class TreeNotReadyError(LookupError):
    """The tree does not reach the size asked about (yet)."""


async def tree_size(db: Db) -> int:
    size = await db.fetchval("SELECT position FROM projection_tracking WHERE name = $1", TREE)
    return int(size or 0)


async def fetch_nodes(db: Db, nodes: Iterable[Node]) -> dict[Node, bytes]:
    """The stored hashes of complete nodes; `TreeNotReadyError` if one is not stored."""
    wanted = list(nodes)
    slots = [node_slot(n) for n in wanted]
    rows = await db.fetch(
        _NODES, [t[0] for t, _ in slots], [t[1] for t, _ in slots], [off for _, off in slots]
    )
    found = {wanted[r[0] - 1]: bytes(r[1]) for r in rows}
    missing = [n for n in wanted if found.get(n, _ZERO) == _ZERO]
    if missing:
        raise TreeNotReadyError(f"the tree has no node {missing[0]} yet")
    return found


async def lookup_for(db: Db, ranges: Iterable[Range]) -> NodeLookup:
    """A lookup holding every node the hashes of `ranges` are made of, fetched in one query."""
    nodes = await fetch_nodes(db, nodes_of(ranges))
    return lambda height, index: nodes[(height, index)]


async def root_at(db: Db, size: int) -> bytes:
    ranges = [(0, size)] if size else []
    return root_hash(size, await lookup_for(db, ranges))


async def inclusion_proof(db: Db, index: int, size: int) -> list[bytes]:
    ranges = inclusion_ranges(index, size)
    return proof_hashes(ranges, await lookup_for(db, ranges))


async def inclusion_proofs(db: Db, indexes: Iterable[int], size: int) -> dict[int, list[bytes]]:
    """Several leaves' proofs against one tree size, from one query (an evidence bundle's)."""
    planned = {i: inclusion_ranges(i, size) for i in indexes}
    lookup = await lookup_for(db, (r for ranges in planned.values() for r in ranges))
    return {i: proof_hashes(ranges, lookup) for i, ranges in planned.items()}


async def consistency_proof(db: Db, old: int, new: int) -> list[bytes]:
    ranges = consistency_ranges(old, new)
    return proof_hashes(ranges, await lookup_for(db, ranges))


async def read_tile(db: Db, level: int, index: int, width: int) -> bytes | None:
    """The tile as C2SP tlog-tiles serves it (`width` hashes), if the tree has that many."""
    row = await db.fetchrow(
        "SELECT width, substring(nodes FROM 1 FOR $3 * 32) AS hashes FROM merkle_tiles "
        "WHERE level = $1 AND idx = $2",
        level,
        index,
        width,
    )
    if row is None or row["width"] < width:
        return None
    return bytes(row["hashes"])


async def read_records(conn: Connection, tiles: Iterable[tuple[TileId, int]]) -> dict[TileId, bytes]:
    """Whole tile records (for the follower to resume from), checked to hold `width` hashes."""
    wanted = list(tiles)
    rows = await conn.fetch(
        "SELECT level, idx, width, nodes FROM merkle_tiles t "
        "JOIN unnest($1::smallint[], $2::bigint[]) AS q(level, idx) USING (level, idx)",
        [t[0] for t, _ in wanted],
        [t[1] for t, _ in wanted],
    )
    records = {(r["level"], r["idx"]): (r["width"], bytes(r["nodes"])) for r in rows}
    for tile, width in wanted:
        if records.get(tile, (0, b""))[0] < width:
            raise TreeNotReadyError(f"tile {tile} does not hold {width} hashes")
    return {tile: record for tile, (_, record) in records.items()}


async def write_tiles(conn: Connection, tiles: dict[TileId, tuple[int, bytes]]) -> None:
    """Store grown or completed tiles, given as (width, record) (a tile never shrinks: an older
    write arriving late loses to a newer one)."""
    if not tiles:
        return
    ids = list(tiles)
    await conn.execute(
        _WRITE,
        [t[0] for t in ids],
        [t[1] for t in ids],
        [tiles[t][0] for t in ids],
        [tiles[t][1] for t in ids],
    )
