"""Unsubscribe links: a token naming a contact and a program, signed, valid forever.

An unsubscribe link must keep working as long as the mail that carries it exists, so it has no
expiry; all it can do is opt its one contact out, never in. Layout (base64url, no padding):
contact id (16 bytes) ‖ program id (16) ‖ HMAC-SHA256 tag (16) under a key derived from
OPTIN_TOKEN_KEY for this purpose only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote
from uuid import UUID

from api.auth.tokens import InvalidTokenError, b64url_canonical, derive_key

_TAG = 16


class UnsubscribeTokens:
    """`ledger.composer.UnsubscribeLinks`, and the check of the tokens it hands out."""

    def __init__(self, token_key: bytes, public_url: str, mailto: str | None = None) -> None:
        self._key = derive_key(token_key, "unsubscribe")
        self._base = public_url.rstrip("/")
        self._mailto = mailto

    def token(self, contact_id: UUID, optin_id: UUID) -> str:
        payload = contact_id.bytes + optin_id.bytes
        tag = hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG]
        return base64.urlsafe_b64encode(payload + tag).rstrip(b"=").decode()

    def verify(self, token: str) -> tuple[UUID, UUID]:
        """(contact id, program id) of a genuine token, else `InvalidTokenError`."""
        raw = b64url_canonical(token, 32 + _TAG, "an unsubscribe link")
        payload, tag = raw[:32], raw[32:]
        if not hmac.compare_digest(tag, hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG]):
            raise InvalidTokenError("not an unsubscribe link")
        return UUID(bytes=payload[:16]), UUID(bytes=payload[16:])

    def url(self, contact_id: UUID, optin_id: UUID) -> str:
        return f"{self._base}/u/{self.token(contact_id, optin_id)}"

    def mailto(self, contact_id: UUID, optin_id: UUID) -> str | None:
        if not self._mailto:
            return None
        return f"mailto:{self._mailto}?subject=" + quote(f"unsubscribe {self.token(contact_id, optin_id)}")
