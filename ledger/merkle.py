"""The ledger as an RFC 9162 Merkle tree: hashing, and which subtrees a root or a proof is made of.

Leaf hash = SHA-256(0x00 ‖ the event's canonical record, `ledger/chain.py`), interior node =
SHA-256(0x01 ‖ left ‖ right), leaf index = position − 1 (RFC 9162 §2.1.1). The tree is never
held whole: every hash a root or a proof needs is the hash of a *perfect* subtree, named here as
`(height, index)` (the subtree over leaves `index·2^height … (index+1)·2^height − 1`), and the
storage (tiles, `ledger/tiles.py`) looks those up. So a proof costs O(log n) lookups.

Proofs are planned in two steps: first the ranges of leaves whose hashes make up the proof
(RFC 9162 §2.1.3.1 PATH and §2.1.4.1 SUBPROOF, unrolled), then the perfect subtrees each range
is made of; the caller fetches those in one go and folds them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from ledger.chain import ChainRecord, canonical

Node = tuple[int, int]
"""A perfect subtree: (height, index)."""
Range = tuple[int, int]
"""Leaves `begin … end − 1` (a half-open range of leaf indices)."""
NodeLookup = Callable[[int, int], bytes]

EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def event_leaf(record: ChainRecord) -> bytes:
    """The leaf hash of one stored event: the bytes the chain hashes, as an RFC 9162 leaf."""
    return leaf_hash(canonical(record))


def _split(size: int) -> int:
    """The largest power of two smaller than `size` (size ≥ 2): where RFC 9162 splits a tree."""
    return 1 << ((size - 1).bit_length() - 1)


def range_nodes(begin: int, end: int) -> list[Node]:
    """The perfect subtrees, left to right, whose fold is MTH(D[begin:end]).

    `begin` must be a multiple of the smallest power of two ≥ end − begin, which holds for
    every range RFC 9162's recursion produces from a whole tree: then the subtrees are the
    binary digits of the range's size, largest first.
    """
    nodes: list[Node] = []
    size = end - begin
    while size:
        height = size.bit_length() - 1
        nodes.append((height, begin >> height))
        begin += 1 << height
        size -= 1 << height
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its perfect subtrees' hashes (left to right): fold from the right."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def range_hash(begin: int, end: int, lookup: NodeLookup) -> bytes:
    return fold([lookup(h, i) for h, i in range_nodes(begin, end)])


def root_hash(size: int, lookup: NodeLookup) -> bytes:
    """MTH of the first `size` leaves (the empty tree's is SHA-256 of nothing)."""
    return range_hash(0, size, lookup) if size else EMPTY_ROOT


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes form the inclusion proof of leaf `index` in a tree of `size`,
    from the leaf's sibling up to the root's child (RFC 9162 §2.1.3.1, PATH)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    ranges: list[Range] = []
    begin, end = 0, size
    while end - begin > 1:
        k = _split(end - begin)
        if index < begin + k:
            ranges.append((begin + k, end))
            end = begin + k
        else:
            ranges.append((begin, begin + k))
            begin += k
    ranges.reverse()
    return ranges


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The ranges whose hashes form the consistency proof from size `old` to `new`
    (RFC 9162 §2.1.4.1, PROOF and SUBPROOF); empty when `old` is 0 or equal to `new`."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to {new}")
    if old in (0, new):
        return []
    ranges: list[Range] = []
    begin, end, m, whole = 0, new, old, True
    while m != end - begin:
        k = _split(end - begin)
        if m <= k:
            ranges.append((begin + k, end))
            end = begin + k
        else:
            ranges.append((begin, begin + k))
            begin, m, whole = begin + k, m - k, False
    if not whole:
        ranges.append((begin, end))
    ranges.reverse()
    return ranges


def nodes_of(ranges: Iterable[Range]) -> set[Node]:
    """Every perfect subtree the hashes of `ranges` are made of (what to fetch)."""
    return {node for begin, end in ranges for node in range_nodes(begin, end)}


def proof_hashes(ranges: Iterable[Range], lookup: NodeLookup) -> list[bytes]:
    return [range_hash(begin, end, lookup) for begin, end in ranges]
