"""C2SP tlog-checkpoint bodies: origin, tree size, base64 root hash, one per line."""

from __future__ import annotations

import base64

import msgspec

from ledger.signed_note import NoteSigner, sign_note


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """A signed tree head: the tree of `size` leaves has root `root`; `note` is the signed text."""

    origin: str
    size: int
    root: bytes
    note: str


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    if not origin or "\n" in origin or size < 0 or len(root) != 32:
        raise ValueError("a checkpoint needs an origin line, a size ≥ 0 and a 32-byte root")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def sign_checkpoint(signer: NoteSigner, size: int, root: bytes) -> Checkpoint:
    """The checkpoint of the tree of `size` leaves, signed by `signer`, whose name is the origin.

    Ed25519 signatures are deterministic, so two processes signing the same tree head produce
    the same note: storing it is idempotent."""
    note = sign_note(checkpoint_body(signer.name, size, root), signer)
    return Checkpoint(origin=signer.name, size=size, root=root, note=note)
