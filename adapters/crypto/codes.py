"""One-time codes: six digits from the CSPRNG; kept only as HMAC(key, verification id ‖ code)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from uuid import UUID


class HmacCodes:
    """`ledger.ports.Codes`, keyed by a key derived from OPTIN_TOKEN_KEY for this one purpose."""

    def __init__(self, token_key: bytes) -> None:
        self._key = hmac.new(token_key, b"optin-ledger verification codes", hashlib.sha256).digest()

    def new(self) -> str:
        return f"{secrets.randbelow(1_000_000):06d}"

    def hash(self, verification_id: UUID, code: str) -> bytes:
        return hmac.new(self._key, verification_id.bytes + code.encode(), hashlib.sha256).digest()
