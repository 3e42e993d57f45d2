"""Receipt links: a token naming the message that carried a contact's consent receipts, signed.

Like an unsubscribe link it must work as long as the message that carries it exists, so it has
no expiry; all it can do is show the signed receipts that message links to. It names a message
id (derived from a ledger position, or from the provider's id of an inbound SMS), never an
address. Layout (base64url, no padding): message id (16 bytes) ‖ HMAC-SHA256 tag (12) under a
key derived from OPTIN_TOKEN_KEY for this purpose only: 38 characters, short enough for an SMS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from uuid import UUID

from api.auth.tokens import InvalidTokenError, b64url_canonical, derive_key

_TAG = 12


class ReceiptLinkTokens:
    """`ledger.application.consent_receipts.ReceiptLinks`, and the check of its tokens."""

    def __init__(self, token_key: bytes, public_url: str) -> None:
        self._key = derive_key(token_key, "receipt-link")
        self.base = public_url.rstrip("/")

    def token(self, message_id: UUID) -> str:
        tag = hmac.new(self._key, message_id.bytes, hashlib.sha256).digest()[:_TAG]
        return base64.urlsafe_b64encode(message_id.bytes + tag).rstrip(b"=").decode()

    def verify(self, token: str) -> UUID:
        """The message id of a genuine token, else `InvalidTokenError`."""
        raw = b64url_canonical(token, 16 + _TAG, "a receipt link")
        payload, tag = raw[:16], raw[16:]
        if not hmac.compare_digest(tag, hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG]):
            raise InvalidTokenError("not a receipt link")
        return UUID(bytes=payload)

    def url(self, message_id: UUID) -> str:
        return f"{self.base}/r/{self.token(message_id)}"
