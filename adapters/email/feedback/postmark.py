"""Postmark's bounce and spam-complaint webhooks: basic-auth credentials checked, then the record read.

Postmark does not sign its webhooks. It supports HTTP basic auth in the webhook URL
(`https://user:password@host/v1/webhooks/email/postmark`), which this receiver requires
(OPTIN_POSTMARK_WEBHOOK_USERNAME and _PASSWORD); a secret in the URL's path would end up in
access logs, a basic-auth header does not. Postmark's own `MessageID` is not ours: the send is
identified by our signed token, which every email carries in an `X-PM-Metadata-optin-feedback`
header and Postmark hands back in `Metadata`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

import msgspec

from adapters.email.feedback.intake import ProviderEvent
from adapters.email.feedback.reports import status_code

METADATA_KEY = "optin-feedback"
HEADER = f"X-PM-Metadata-{METADATA_KEY}"
_HARD = frozenset({"HardBounce", "BadEmailAddress", "ManuallyDeactivated"})
_SOFT = frozenset({"SoftBounce", "Transient", "DnsError"})


def basic_auth_ok(header: str | None, username: str, password: str) -> bool:
    """Whether an `Authorization: Basic …` header carries exactly these credentials."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, f"{username}:{password}".encode())


def postmark_events(body: bytes) -> list[ProviderEvent]:
    """The bounce or spam complaint in one webhook record (others: none)."""
    try:
        record = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return []
    if not isinstance(record, dict):
        return []
    metadata = record.get("Metadata")
    token = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    tokens = (token,) if isinstance(token, str) else ()
    kind, details = record.get("Type"), _text(record.get("Details"))
    if record.get("RecordType") == "SpamComplaint" or kind == "SpamComplaint":
        return [ProviderEvent(kind=None, tokens=tokens, detail=_text(record.get("Description")) or None)]
    if record.get("RecordType") != "Bounce" or kind not in _HARD | _SOFT:
        return []
    return [
        ProviderEvent(
            kind="hard" if kind in _HARD else "soft",
            tokens=tokens,
            status=status_code(details),
            detail=details or _text(record.get("Description")) or None,
        )
    ]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
