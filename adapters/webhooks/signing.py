"""Standard Webhooks headers for one delivery, signed with the reference library."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from standardwebhooks.webhooks import Webhook


def signed_headers(delivery_id: UUID, at: datetime, body: bytes, secrets: Sequence[bytes]) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature` (`v1,<base64>` per
    secret in force, space separated), and the content type."""
    at = at.astimezone(UTC)  # the library reads the time as UTC whatever its zone says
    text = body.decode()
    signatures = " ".join(Webhook(secret).sign(str(delivery_id), at, text) for secret in secrets)
    return {
        "webhook-id": str(delivery_id),
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
    }
