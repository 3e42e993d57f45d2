"""Random nonces for XSalsa20-Poly1305, drawn from the operating system in blocks.

Every sealed value needs a fresh 24-byte random nonce; asking the kernel for each one costs a
system call per value (a bulk import seals millions). Here one call fills a block of 256; each
nonce is handed out once. The block is dropped in a forked child (it must never hand out the
parent's nonces again) and is guarded by a lock (threads).
"""

from __future__ import annotations

import os
import threading

from nacl.secret import SecretBox

SIZE = SecretBox.NONCE_SIZE
_BLOCK = 256

_lock = threading.Lock()
_block = b""
_at = 0
_pid = 0


def nonce() -> bytes:
    global _block, _at, _pid
    with _lock:
        if _at >= len(_block) or _pid != os.getpid():
            _block, _at, _pid = os.urandom(SIZE * _BLOCK), 0, os.getpid()
        taken = _block[_at : _at + SIZE]
        _at += SIZE
        return taken
