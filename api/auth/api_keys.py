"""Service API keys: `olk_` + 256 random bits, shown once, stored only as a keyed hash."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from api.auth.tokens import derive_key
from ledger.ports import NewApiKey

PREFIX = "olk_"
_DISPLAYED = len(PREFIX) + 8  # enough to tell keys apart in a list, far too little to guess one


def looks_like_api_key(credential: str) -> bool:
    return credential.startswith(PREFIX)


def api_key_hash(token_key: bytes, secret: str) -> bytes:
    """HMAC-SHA256 under a key derived for API keys: what the database stores and looks up."""
    mac = _keyed(token_key).copy()  # cheaper than keying a new HMAC on every request
    mac.update(secret.encode())
    return mac.digest()


@functools.lru_cache(maxsize=8)
def _keyed(token_key: bytes) -> hmac.HMAC:
    return hmac.new(derive_key(token_key, "api-key"), digestmod=hashlib.sha256)


def new_api_key(token_key: bytes) -> NewApiKey:
    secret = PREFIX + secrets.token_urlsafe(32)
    return NewApiKey(secret=secret, prefix=secret[:_DISPLAYED], hash=api_key_hash(token_key, secret))


class HmacApiKeys:
    """`ledger.ports.ApiKeyMinter`: keys hashed under a key derived from `OPTIN_TOKEN_KEY`."""

    def __init__(self, token_key: bytes | None) -> None:
        self._token_key = token_key

    def new(self) -> NewApiKey:
        if not self._token_key:
            raise RuntimeError("OPTIN_TOKEN_KEY is not configured")
        return new_api_key(self._token_key)
