"""`X-Twilio-Signature`: base64 HMAC-SHA1, keyed by the auth token, of the URL and sorted form fields."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from adapters import metrics


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature a provider puts on a POST of `params` to `url` (the full public URL)."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid_signature(auth_token: str, url: str, params: Mapping[str, str], signature: str | None) -> bool:
    if not signature:
        metrics.webhook_verified("missing")
        return False
    valid = hmac.compare_digest(twilio_signature(auth_token, url, params), signature)
    metrics.webhook_verified("valid" if valid else "invalid")
    return valid
