"""Service API keys: `olk_` + 256 random bits, shown once, stored only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from api.auth.tokens import derive_key

PREFIX = "olk_"
_DISPLAYED = len(PREFIX) + 8  # enough to tell keys apart in a list, far too little to guess one


@dataclass(frozen=True, slots=True)
class NewApiKey:
    secret: str
    prefix: str
    hash: bytes


def looks_like_api_key(credential: str) -> bool:
    return credential.startswith(PREFIX)


def api_key_hash(token_key: bytes, secret: str) -> bytes:
    """HMAC-SHA256 under a key derived for API keys: what the database stores and looks up."""
    return hmac.new(derive_key(token_key, "api-key"), secret.encode(), hashlib.sha256).digest()


def new_api_key(token_key: bytes) -> NewApiKey:
    secret = PREFIX + secrets.token_urlsafe(32)
    return NewApiKey(secret=secret, prefix=secret[:_DISPLAYED], hash=api_key_hash(token_key, secret))
