"""SecretBox sealing with a contact's data key, and the keyed blind index of an address."""

from __future__ import annotations

import hashlib
import hmac

import nacl.exceptions
import nacl.secret

from adapters.crypto.nonces import nonce


class NaclSealer:
    """`ledger.ports.Sealer` with XSalsa20-Poly1305 (random nonce per message) and HMAC-SHA256."""

    def __init__(self, index_key: bytes) -> None:
        if len(index_key) != 32:
            raise ValueError("the blind-index key must be 32 bytes")
        self._index_key = index_key

    def seal(self, key: bytes, plaintext: str) -> bytes:
        return bytes(nacl.secret.SecretBox(key).encrypt(plaintext.encode(), nonce()))

    def open(self, key: bytes | None, sealed: bytes) -> str | None:
        if key is None:
            return None
        try:
            return nacl.secret.SecretBox(key).decrypt(sealed).decode()
        except (nacl.exceptions.CryptoError, UnicodeDecodeError):
            return None

    def blind_index(self, normalised_address: str) -> bytes:
        return hmac.new(self._index_key, normalised_address.encode(), hashlib.sha256).digest()
