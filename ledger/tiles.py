"""The Merkle tree stored as C2SP tlog-tiles, each with its interior nodes, and grown leaf by leaf.

A tile at level L, index N holds the hashes of 256 consecutive perfect subtrees of height 8·L
(level 0: leaf hashes), as C2SP tlog-tiles defines and serves them. Stored, a tile also keeps
the interior nodes of its own height-8 subtree (heights 8·L+1 … 8·L+7), so that any node of the
tree is one lookup, never a rehash of up to 255 hashes: the record is `510 × 32` bytes, height k
of the tile starting at hash slot `512 − (512 >> k)`, zeros where a partial tile has no node yet.
Served tiles are the first `width × 32` bytes.

`TreeTiles` is the tree's right edge (the partial tile of every level) in memory: the follower
feeds it leaf hashes and writes back the tiles it reports changed; a node is immutable once
complete, so a tile written for a larger tree still answers for every smaller one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ledger.merkle import Node, NodeLookup, node_hash

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
HASH_SIZE = 32
_SLOTS = tuple(TILE_WIDTH >> k for k in range(TILE_HEIGHT))  # nodes per height inside a tile
_OFFSETS = tuple(2 * TILE_WIDTH - (2 * TILE_WIDTH >> k) for k in range(TILE_HEIGHT))
RECORD_SIZE = sum(_SLOTS) * HASH_SIZE  # 510 hashes
_ZERO = bytes(HASH_SIZE)

TileId = tuple[int, int]
"""(level, index)."""


def node_slot(node: Node) -> tuple[TileId, int]:
    """Which stored tile holds `node`, and its byte offset in the tile's record."""
    height, index = node
    level, k = divmod(height, TILE_HEIGHT)
    tile = (index << k) >> TILE_HEIGHT
    return (level, tile), (_OFFSETS[k] + index % _SLOTS[k]) * HASH_SIZE


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """`tile/<L>/<N>[.p/<W>]`, N in 3-digit path elements, all but the last prefixed with `x`."""
    digits = f"{index:03d}"
    digits = "0" * (-len(digits) % 3) + digits
    parts = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    name = "/".join([*(f"x{p}" for p in parts[:-1]), parts[-1]])
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{name}{suffix}"


class TilePathError(ValueError):
    """Not a tile path in C2SP tlog-tiles form."""


def parse_tile_path(path: str) -> tuple[int, int, int]:
    """(level, index, width) of a `<L>/<N>[.p/<W>]` path (after `tile/`); strict, as the spec is."""
    level_text, _, rest = path.partition("/")
    if not _is_decimal(level_text) or not 0 <= int(level_text) <= 63:
        raise TilePathError("the level must be a number from 0 to 63 without leading zeros")
    width = TILE_WIDTH
    if ".p/" in rest:
        rest, _, width_text = rest.partition(".p/")
        if not _is_decimal(width_text) or not 1 <= int(width_text) <= 255:
            raise TilePathError("a partial width must be a number from 1 to 255 without leading zeros")
        width = int(width_text)
    parts = rest.split("/")
    if not parts or any(len(p) != (4 if i < len(parts) - 1 else 3) for i, p in enumerate(parts)):
        raise TilePathError("the index must be 3-digit path elements, all but the last starting with x")
    if any(not p.startswith("x") for p in parts[:-1]) or not all(
        p.lstrip("x").isdigit() and p.lstrip("x").isascii() for p in parts
    ):
        raise TilePathError("the index must be 3-digit path elements, all but the last starting with x")
    index = int("".join(p.lstrip("x") for p in parts))
    if tile_path(int(level_text), index, width) != f"tile/{path}":
        raise TilePathError("not the canonical path of that tile")
    return int(level_text), index, width


def _is_decimal(text: str) -> bool:
    return text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0"))


@dataclass(slots=True)
class _Tile:
    """One tile being filled: its hashes per height (0 … 7), each list growing to the right."""

    index: int
    rows: list[list[bytes]] = field(default_factory=lambda: [[] for _ in range(TILE_HEIGHT)])

    @property
    def width(self) -> int:
        return len(self.rows[0])

    def record(self) -> bytes:
        return b"".join(
            b"".join(row).ljust(slots * HASH_SIZE, b"\0")
            for row, slots in zip(self.rows, _SLOTS, strict=True)
        )

    @classmethod
    def from_record(cls, index: int, record: bytes, width: int) -> _Tile:
        tile = cls(index)
        for k in range(TILE_HEIGHT):
            start = _OFFSETS[k] * HASH_SIZE
            tile.rows[k] = [
                record[start + i * HASH_SIZE : start + (i + 1) * HASH_SIZE] for i in range(width >> k)
            ]
        if any(h == _ZERO for row in tile.rows for h in row):
            raise ValueError(f"tile {index} is missing hashes its width says it has")
        return tile


@dataclass(slots=True)
class TreeTiles:
    """The right edge of the tree: one partial tile per level, and the tiles changed since the
    last `take_changed`."""

    size: int = 0
    _tiles: list[_Tile] = field(default_factory=list)
    _changed: dict[TileId, tuple[int, bytes]] = field(default_factory=dict)

    @classmethod
    def resume(cls, size: int, records: dict[TileId, bytes]) -> TreeTiles:
        """The state after `size` leaves, from the stored partial tiles it needs
        (`needed_tiles(size)`)."""
        tree = cls(size)
        level = 0
        while size >> (TILE_HEIGHT * level) or level == 0:
            entries = size >> (TILE_HEIGHT * level)
            index, width = divmod(entries, TILE_WIDTH)
            tile = _Tile(index)
            if width:
                tile = _Tile.from_record(index, records[(level, index)], width)
            tree._tiles.append(tile)
            level += 1
        return tree

    def append(self, leaf_hashes: list[bytes]) -> None:
        done = 0
        while done < len(leaf_hashes):
            room = TILE_WIDTH - self._tile(0).width
            self._extend(0, leaf_hashes[done : done + room])
            done += room
        self.size += len(leaf_hashes)
        for level, tile in enumerate(self._tiles):
            if tile.width:
                self._changed[(level, tile.index)] = (tile.width, tile.record())

    def _tile(self, level: int) -> _Tile:
        if level == len(self._tiles):
            self._tiles.append(_Tile(0))  # a new top level: nothing was at this height before
        return self._tiles[level]

    def _extend(self, level: int, entries: list[bytes]) -> None:
        """Add entries that fit in the level's current tile; hash each pair completed above them
        (a row at a time: the hot loop of a tree build)."""
        tile = self._tile(level)
        rows = tile.rows
        rows[0].extend(entries)
        for k in range(1, TILE_HEIGHT):
            below, row = rows[k - 1], rows[k]
            start, end = len(row), len(below) // 2
            if start == end:
                break  # no new node at this height, so none above it either
            row.extend([node_hash(below[2 * j], below[2 * j + 1]) for j in range(start, end)])
        if tile.width == TILE_WIDTH:
            self._changed[(level, tile.index)] = (TILE_WIDTH, tile.record())
            self._tiles[level] = _Tile(tile.index + 1)
            self._extend(level + 1, [node_hash(rows[-1][0], rows[-1][1])])

    def take_changed(self) -> dict[TileId, tuple[int, bytes]]:
        """(width, record) of the tiles completed or grown since the last call (to store)."""
        changed, self._changed = self._changed, {}
        return changed

    def node(self, height: int, index: int) -> bytes:
        """A complete node on the right edge (any node `root_hash(self.size)` needs)."""
        level, k = divmod(height, TILE_HEIGHT)
        tile = self._tiles[level]
        if (index << k) >> TILE_HEIGHT != tile.index:
            raise KeyError(f"node {height}/{index} is not on the right edge")
        return tile.rows[k][index % _SLOTS[k]]


def needed_tiles(size: int) -> list[tuple[TileId, int]]:
    """The partial tiles (and their widths) that `TreeTiles.resume(size, …)` reads."""
    needed = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        index, width = divmod(size >> (TILE_HEIGHT * level), TILE_WIDTH)
        if width:
            needed.append(((level, index), width))
        level += 1
    return needed


def lookup_in(records: Mapping[TileId, bytes]) -> NodeLookup:
    """Node lookup over stored tile records (a `KeyError` for a node not stored yet)."""

    def lookup(height: int, index: int) -> bytes:
        tile, offset = node_slot((height, index))
        value = records[tile][offset : offset + HASH_SIZE]
        if len(value) != HASH_SIZE or value == _ZERO:
            raise KeyError(f"node {height}/{index} is not stored")
        return value

    return lookup
