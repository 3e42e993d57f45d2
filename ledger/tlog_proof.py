"""C2SP tlog-proof@v1: an entry's index, its inclusion proof and the signed checkpoint, as text."""

from __future__ import annotations

import base64
from collections.abc import Sequence

HEADER = "c2sp.org/tlog-proof@v1"


def format_proof(index: int, hashes: Sequence[bytes], signed_checkpoint: str) -> str:
    """The proof text: header, `index N`, one base64 hash per line from the leaf's sibling up,
    a blank line, then the checkpoint note verbatim (c2sp.org/tlog-proof)."""
    lines = [HEADER, f"index {index}", *(base64.b64encode(h).decode() for h in hashes)]
    return "\n".join(lines) + "\n\n" + signed_checkpoint
