"""VERP return paths: the envelope sender of each email names the message, signed so it cannot be forged.

Every message goes out with `MAIL FROM:<bounces+TOKEN@domain>` (for the bounce address
`bounces@domain`), where TOKEN is the message id and an HMAC-SHA256 tag (80 bits) under a key
derived from OPTIN_TOKEN_KEY for this purpose only, in lower-case base32 (mail systems may change
the case of a local part). Bounces come back to that address, so the recipient of a DSN says
which message bounced; a token whose tag does not verify names nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable
from email.utils import getaddresses
from uuid import UUID

_TAG = 10
_TOKEN = re.compile(r"^[a-z2-7]{42}$")


def derive_verp_key(token_key: bytes) -> bytes:
    return hmac.new(token_key, b"optin-ledger/verp-return-path", hashlib.sha256).digest()


class ReturnPaths:
    """Signed return paths for one bounce address (`local@domain`)."""

    def __init__(self, key: bytes, bounce_address: str) -> None:
        local, at, domain = bounce_address.rpartition("@")
        if not (local and at and domain):
            raise ValueError("the bounce address must be local@domain")
        self._key = key
        self.local, self.domain = local.lower(), domain.lower()

    @property
    def bounce_address(self) -> str:
        return f"{self.local}@{self.domain}"

    def token(self, message_id: UUID) -> str:
        tag = hmac.new(self._key, message_id.bytes, hashlib.sha256).digest()[:_TAG]
        return base64.b32encode(message_id.bytes + tag).decode().rstrip("=").lower()

    def address(self, message_id: UUID) -> str:
        """The envelope sender for `message_id`."""
        return f"{self.local}+{self.token(message_id)}@{self.domain}"

    def message_of_token(self, token: str) -> UUID | None:
        token = token.strip().lower()
        if not _TOKEN.match(token):
            return None
        try:
            raw = base64.b32decode(token.upper() + "=" * (-len(token) % 8))
        except (binascii.Error, ValueError):
            return None
        message_id = UUID(bytes=raw[:16])
        # compared as text: base32's last character has spare bits, so only the one spelling counts
        return message_id if hmac.compare_digest(token, self.token(message_id)) else None

    def message_of(self, address: str) -> UUID | None:
        """The message a return path names, if it is one of ours and its signature verifies."""
        local, _, domain = address.strip().strip("<>").rpartition("@")
        prefix, plus, token = local.partition("+")
        if not plus or prefix.lower() != self.local or domain.lower() != self.domain:
            return None
        return self.message_of_token(token)

    def first_message(self, headers: Iterable[str]) -> UUID | None:
        """The first genuine return path among address-list header values (To, Return-Path, …)."""
        for _, address in getaddresses([h for h in headers if h]):
            found = self.message_of(address)
            if found is not None:
                return found
        return None
