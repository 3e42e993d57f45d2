"""C2SP signed notes with Ed25519: key ids, verifier keys, and signing a note's text.

A note is text ending in a newline, a blank line, then one line per signature:
`— <key name> base64(key id ‖ signature)`. The key id is the first four bytes of
SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key), 0x01 naming Ed25519; the verifier key anyone
needs is `<key name>+<hex key id>+base64(0x01 ‖ public key)` (c2sp.org/signed-note). Signing
itself is the adapter's (`adapters/crypto/signing.py`); verifying is the offline verifier's.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Protocol

ED25519 = b"\x01"


class NoteSigner(Protocol):
    """An Ed25519 key with a name (the log's origin)."""

    @property
    def name(self) -> str: ...

    @property
    def public_key(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `message`."""
        ...


class NoteError(ValueError):
    """A key name or note text the format does not allow."""


def check_key_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError("a key name must be non-empty, without spaces or '+'")
    return name


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The public key in signed-note verifier-key form."""
    check_key_name(name)
    encoded = base64.b64encode(ED25519 + public_key).decode()
    return f"{name}+{key_id(name, public_key).hex()}+{encoded}"


def sign_note(text: str, signer: NoteSigner) -> str:
    """`text` (ending in one newline) followed by the blank line and `signer`'s signature line."""
    if not text.endswith("\n") or any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note's text must end in a newline and hold no other control characters")
    name = check_key_name(signer.name)
    signature = key_id(name, signer.public_key) + signer.sign(text.encode())
    return f"{text}\n\u2014 {name} {base64.b64encode(signature).decode()}\n"
