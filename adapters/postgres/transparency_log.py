"""The ledger as a transparency log, as readers see it: key, checkpoints, proofs and tiles.

A facade over the stored tiles (`merkle_tiles.py`) and checkpoints (`checkpoints.py`) with the
log's signer: what `/v1/ledger/*` and evidence bundles serve.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import asyncpg

from adapters.postgres import checkpoints, merkle_tiles
from ledger.checkpoint import Checkpoint
from ledger.errors import InvalidValueError, NotFoundError
from ledger.signed_note import NoteSigner, verifier_key
from ledger.tlog_proof import format_proof


class NoSigningKeyError(RuntimeError):
    """No `OPTIN_SIGNING_KEY`: the tree is kept, but nothing can be signed or proven."""

    def __init__(self) -> None:
        super().__init__("this ledger has no signing key (OPTIN_SIGNING_KEY), so no checkpoints or proofs")


class TransparencyLog:
    def __init__(self, pool: asyncpg.Pool, signer: NoteSigner | None, *, reuse_seconds: float = 0.5) -> None:
        self.pool = pool
        self._signer = signer
        self._reuse_seconds = reuse_seconds
        self._recent: tuple[float, Checkpoint] | None = None  # (when read, the latest then)

    @property
    def signer(self) -> NoteSigner:
        if self._signer is None:
            raise NoSigningKeyError
        return self._signer

    @property
    def verifier_key(self) -> str:
        return verifier_key(self.signer.name, self.signer.public_key)

    async def checkpoint(self, size: int | None = None) -> Checkpoint:
        """The checkpoint of `size` (a stored one), or the latest (signed now if there is none)."""
        if size is not None:
            found = await checkpoints.at_size(self.pool, size)
            if found is None:
                raise NotFoundError(f"no checkpoint of size {size} was signed")
            return found
        return await checkpoints.covering(self.pool, self.signer, 0)

    async def latest(self) -> Checkpoint | None:
        """The latest stored checkpoint, without signing one (for pages)."""
        return await checkpoints.latest(self.pool)

    async def covering(self, position: int) -> Checkpoint:
        """The latest checkpoint, or a new one if it does not include `position` yet.

        The latest one read less than `reuse_seconds` ago serves when it includes `position`:
        any checkpoint stays valid, and a proof then costs one query instead of two."""
        now = asyncio.get_running_loop().time()
        if (
            self._recent
            and now - self._recent[0] < self._reuse_seconds
            and 1 <= position <= self._recent[1].size
        ):
            return self._recent[1]
        newest = await checkpoints.latest(self.pool)
        if newest is not None:
            self._recent = (now, newest)
        if newest is not None and 1 <= position <= newest.size:
            return newest
        head = int(await self.pool.fetchval("SELECT position FROM ledger_head"))
        if not 1 <= position <= head:
            raise NotFoundError(f"the ledger has no event at position {position}")
        return await checkpoints.covering(self.pool, self.signer, position)

    async def proof(self, position: int, size: int | None = None) -> str:
        """The event's inclusion proof as a C2SP tlog-proof@v1 text, against checkpoint `size` or
        the latest (one that includes it)."""
        checkpoint = await (self.checkpoint(size) if size is not None else self.covering(position))
        if not 1 <= position <= checkpoint.size:
            raise InvalidValueError(f"position {position} is not in the tree of checkpoint {checkpoint.size}")
        return (await self.proofs([position], checkpoint))[position]

    async def proofs(self, positions: Iterable[int], checkpoint: Checkpoint) -> dict[int, str]:
        """tlog-proofs of several events against one checkpoint, from one read of the tree."""
        paths = await merkle_tiles.inclusion_proofs(self.pool, [p - 1 for p in positions], checkpoint.size)
        return {i + 1: format_proof(i, path, checkpoint.note) for i, path in paths.items()}

    async def consistency(self, old: int, new: int) -> list[bytes]:
        """The RFC 9162 consistency proof between two tree sizes, the larger one signed."""
        if not 0 <= old <= new:
            raise InvalidValueError("a consistency proof needs 0 ≤ from ≤ to")
        newest = await checkpoints.latest(self.pool)
        if newest is None or new > newest.size:
            raise NotFoundError(f"no checkpoint of size {new} or more has been signed")
        return await merkle_tiles.consistency_proof(self.pool, old, new)

    async def tile(self, level: int, index: int, width: int) -> bytes:
        tile = await merkle_tiles.read_tile(self.pool, level, index, width)
        if tile is None:
            raise NotFoundError("no such tile")
        return tile
