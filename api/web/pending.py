"""The address a contact is proving, kept between "send me a code" and "here is my code".

It lives in a short-lived cookie sealed (XSalsa20-Poly1305) under a key derived from
`OPTIN_TOKEN_KEY`: the address never appears in a page, a URL or a log, and cannot be read or
changed by anyone but this service.
"""

from __future__ import annotations

import base64
import binascii
import time
from datetime import timedelta

import msgspec
import nacl.exceptions
import nacl.secret

from api.auth.tokens import derive_key
from ledger.address import Address
from ledger.verification import CODE_TTL
from ledger.vocabulary import Channel

PENDING_TTL: timedelta = CODE_TTL


class _Pending(msgspec.Struct, frozen=True):
    channel: Channel
    address: str
    expires: float


def seal_pending(token_key: bytes | None, address: Address) -> str:
    pending = _Pending(address.channel, address.value, time.time() + PENDING_TTL.total_seconds())
    sealed = _box(token_key).encrypt(msgspec.json.encode(pending))
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def open_pending(token_key: bytes | None, cookie: str | None) -> Address | None:
    """The address in a valid, unexpired pending cookie, else None."""
    if not cookie:
        return None
    try:
        sealed = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
    except (binascii.Error, ValueError):
        return None
    try:
        pending = msgspec.json.decode(_box(token_key).decrypt(sealed), type=_Pending)
    except (nacl.exceptions.CryptoError, msgspec.DecodeError):
        return None
    if pending.expires < time.time():
        return None
    return Address(pending.channel, pending.address)


def _box(token_key: bytes | None) -> nacl.secret.SecretBox:
    return nacl.secret.SecretBox(derive_key(token_key or b"", "pending-address"))
