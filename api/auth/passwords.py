"""Password hashing with argon2id (libsodium via pynacl), off the event loop."""

from __future__ import annotations

import asyncio

import nacl.exceptions
import nacl.pwhash
from nacl.pwhash import argon2id


class PasswordHasher:
    """argon2id at libsodium's interactive cost (64 MiB, about 0.1 s) unless told otherwise."""

    def __init__(
        self, opslimit: int = argon2id.OPSLIMIT_INTERACTIVE, memlimit: int = argon2id.MEMLIMIT_INTERACTIVE
    ) -> None:
        self.opslimit = opslimit
        self.memlimit = memlimit
        self._dummy: bytes | None = None

    def _hash(self, password: str) -> bytes:
        return argon2id.str(password.encode(), opslimit=self.opslimit, memlimit=self.memlimit)

    async def hash(self, password: str) -> str:
        return (await asyncio.to_thread(self._hash, password)).decode()

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches; with no hash, spend the same time and answer no.

        Refusing an unknown account as slowly as a wrong password keeps login timing from
        telling an attacker which emails have accounts.
        """
        if password_hash is None:
            if self._dummy is None:
                self._dummy = await asyncio.to_thread(self._hash, "not a password anyone has")
            expected, password = self._dummy, password + "\x00"
        else:
            expected = password_hash.encode()
        try:
            return await asyncio.to_thread(nacl.pwhash.verify, expected, password.encode())
        except nacl.exceptions.InvalidkeyError:
            return False
