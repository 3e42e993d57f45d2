"""Nonces handed out from a block of OS randomness: never twice, and never a parent's in a child."""

from __future__ import annotations

import os

from adapters.crypto.nonces import SIZE, nonce


def test_nonces_are_24_bytes_and_never_repeat() -> None:
    drawn = [nonce() for _ in range(5000)]  # many blocks
    assert all(len(n) == SIZE == 24 for n in drawn)
    assert len(set(drawn)) == len(drawn)


def test_a_forked_child_draws_its_own_block() -> None:
    nonce()  # the parent holds a block with nonces left in it
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(writer, nonce())
        os._exit(0)
    os.close(writer)
    from_child = os.read(reader, SIZE)
    os.waitpid(child, 0)
    assert from_child != nonce()
