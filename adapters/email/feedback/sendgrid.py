"""SendGrid's signed Event Webhook: the ECDSA signature checked, then bounces and spam reports read.

SendGrid signs `timestamp + payload` (the `X-Twilio-Email-Event-Webhook-Timestamp` header's
value followed by the raw body bytes) with ECDSA P-256 and SHA-256; the signature
(`X-Twilio-Email-Event-Webhook-Signature`) is base64 DER, the verification key is the base64
public key SendGrid shows for the webhook (OPTIN_SENDGRID_WEBHOOK_PUBLIC_KEY). The body is a
JSON array of events: `bounce` (`type` `bounce`: hard, or soft when the status is 4.x.x;
`blocked`: soft), `spamreport` (a complaint); the others do not bear on consent. `smtp-id` is
the `Message-ID` we set.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from adapters.email.feedback.intake import ProviderEvent
from adapters.email.feedback.reports import status_code


class SendGridVerifier:
    def __init__(self, public_key: str) -> None:
        """`public_key`: base64 of the DER SubjectPublicKeyInfo, as SendGrid shows it."""
        key = load_der_public_key(base64.b64decode(public_key))
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("the SendGrid verification key must be an ECDSA P-256 public key")
        self._key = key

    def valid(self, signature: str | None, timestamp: str | None, body: bytes) -> bool:
        if not signature or not timestamp:
            return False
        try:
            der = base64.b64decode(signature, validate=True)
            self._key.verify(der, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def sendgrid_events(body: bytes) -> list[ProviderEvent]:
    """The bounces and spam reports in a (verified) payload."""
    try:
        events = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return []
    found = []
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict):
            continue
        ids = tuple(v for v in (event.get("smtp-id"),) if isinstance(v, str))
        name = event.get("event")
        if name == "bounce":
            status = status_code(_text(event.get("status")))
            soft = event.get("type") == "blocked" or (status or "").startswith("4.")
            found.append(
                ProviderEvent(
                    kind="soft" if soft else "hard",
                    message_ids=ids,
                    status=status,
                    detail=_text(event.get("reason")) or None,
                )
            )
        elif name == "spamreport":
            found.append(ProviderEvent(kind=None, message_ids=ids))
    return found


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
