"""The ledger's Ed25519 key (PyNaCl): signs checkpoints and receipts under the log's name."""

from __future__ import annotations

import nacl.signing

from ledger.signed_note import check_key_name, verifier_key


class Ed25519Signer:
    """`ledger.signed_note.NoteSigner` from a 32-byte seed (`OPTIN_SIGNING_KEY`)."""

    def __init__(self, seed: bytes, name: str) -> None:
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._key = nacl.signing.SigningKey(seed)
        self._name = check_key_name(name)
        self._public = bytes(self._key.verify_key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def public_key(self) -> bytes:
        return self._public

    @property
    def verifier_key(self) -> str:
        """The public key in signed-note form: what verifiers and monitors are given."""
        return verifier_key(self._name, self._public)

    def sign(self, message: bytes) -> bytes:
        return bytes(self._key.sign(message).signature)


def ledger_signer(seed: bytes | None, origin: str) -> Ed25519Signer | None:
    """The configured signer, or None when no `OPTIN_SIGNING_KEY` is set (no checkpoints then)."""
    return Ed25519Signer(seed, origin) if seed is not None else None
