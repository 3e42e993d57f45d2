"""Amazon SES feedback through Amazon SNS: the message signature checked, then the SES notification read.

SNS signs each message it posts (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) over the
fields `Message`, `MessageId`, `Subject` (if present), `SubscribeURL` and `Token` (confirmations),
`Timestamp`, `TopicArn` and `Type`, each as `name\\nvalue\\n`, in that order. The certificate is
fetched over HTTPS only from an SNS host (`sns.<region>.amazonaws.com[.cn]`, or a host the
operator adds, e.g. a LocalStack) and must be in date. A signature only proves that SNS sent the
message, so the topic must also be one configured here: anyone can have SNS sign for their own.

The SES notification inside (`notificationType`, or `eventType` with event publishing) is read
for bounces (`Permanent`: hard; `Transient`, `Undetermined`: soft) and complaints; `mail.source`
(our signed return path) and the original `Message-ID` identify the send.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from adapters.email.feedback.intake import ProviderEvent

_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_NOTIFICATION = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_TYPES = {
    "Notification": _NOTIFICATION,
    "SubscriptionConfirmation": _CONFIRMATION,
    "UnsubscribeConfirmation": _CONFIRMATION,
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_CERT_MAX = 16_384


class SnsError(Exception):
    """The message is not a genuine SNS message for a configured topic (the reason is safe to show)."""


class SnsMessage(msgspec.Struct, frozen=True):
    type: str
    topic_arn: str
    message: str
    subscribe_url: str | None


class SnsVerifier:
    def __init__(
        self, http: httpx.AsyncClient, topic_arns: frozenset[str], extra_hosts: frozenset[str] = frozenset()
    ) -> None:
        self._http = http
        self._topics = topic_arns
        self._extra_hosts = extra_hosts
        self._keys: dict[str, rsa.RSAPublicKey] = {}

    def trusted_url(self, url: str) -> bool:
        """An https URL on an SNS host (the only place certificates and confirmations come from)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        known = _SNS_HOST.match(host) is not None or parts.netloc.lower() in self._extra_hosts
        return parts.scheme == "https" and known and not parts.username and not parts.password

    async def verify(self, body: bytes) -> SnsMessage:
        try:
            doc = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raise SnsError("not an SNS message") from None
        if not isinstance(doc, dict) or not all(isinstance(v, str) for v in doc.values()):
            raise SnsError("not an SNS message")
        fields = _TYPES.get(doc.get("Type", ""))
        algorithm = _HASHES.get(doc.get("SignatureVersion", ""))
        if fields is None or algorithm is None or "Signature" not in doc:
            raise SnsError("not a signed SNS message")
        if doc.get("TopicArn") not in self._topics:
            raise SnsError("the message is for a topic not configured here")
        url = doc.get("SigningCertURL", "")
        if not (self.trusted_url(url) and urlsplit(url).path.endswith(".pem")):
            raise SnsError("the signing certificate is not on an SNS host")
        signed = "".join(f"{name}\n{doc[name]}\n" for name in fields if name in doc).encode()
        try:
            signature = base64.b64decode(doc["Signature"], validate=True)
            (await self._key(url)).verify(signature, signed, padding.PKCS1v15(), algorithm())
        except (InvalidSignature, binascii.Error, ValueError):
            raise SnsError("the signature does not verify") from None
        return SnsMessage(doc["Type"], doc["TopicArn"], doc.get("Message", ""), doc.get("SubscribeURL"))

    async def confirm(self, message: SnsMessage) -> None:
        """Accept a subscription: SNS sends the URL to visit, on its own host."""
        if message.subscribe_url is None or not self.trusted_url(message.subscribe_url):
            raise SnsError("the subscription URL is not on an SNS host")
        answer = await self._http.get(message.subscribe_url)
        answer.raise_for_status()

    async def _key(self, url: str) -> rsa.RSAPublicKey:
        if url not in self._keys:
            try:
                answer = await self._http.get(url)
                answer.raise_for_status()
            except httpx.HTTPError as e:
                raise SnsError(f"the signing certificate could not be fetched ({type(e).__name__})") from None
            if len(answer.content) > _CERT_MAX:
                raise SnsError("the signing certificate is too large")
            cert = x509.load_pem_x509_certificate(answer.content)
            now = datetime.now(UTC)
            if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                raise SnsError("the signing certificate is out of date")
            key = cert.public_key()
            if not isinstance(key, rsa.RSAPublicKey):
                raise SnsError("the signing certificate has no RSA key")
            self._keys[url] = key
        return self._keys[url]


def ses_events(notification: str) -> list[ProviderEvent]:
    """The bounces and complaints in an SES notification (deliveries and others: none)."""
    try:
        doc = msgspec.json.decode(notification)
    except msgspec.DecodeError:
        return []
    if not isinstance(doc, dict):
        return []
    kind = doc.get("notificationType") or doc.get("eventType")
    mail = _object(doc.get("mail"))
    paths = tuple(v for v in (mail.get("source"),) if isinstance(v, str))
    ids = _message_ids(mail)
    if kind == "Bounce":
        bounce = _object(doc.get("bounce"))
        hard = bounce.get("bounceType") == "Permanent"
        first = _object(next(iter(_list(bounce.get("bouncedRecipients"))), None))
        return [
            ProviderEvent(
                kind="hard" if hard else "soft",
                return_paths=paths,
                message_ids=ids,
                status=_str(first.get("status")),
                detail=_str(first.get("diagnosticCode")) or _str(bounce.get("bounceSubType")),
            )
        ]
    if kind == "Complaint":
        complaint = _object(doc.get("complaint"))
        feedback_type = _str(complaint.get("complaintFeedbackType")) or "abuse"
        if feedback_type == "not-spam":
            return []
        return [
            ProviderEvent(
                kind=None,
                return_paths=paths,
                message_ids=ids,
                feedback_type=feedback_type,
                detail=_str(complaint.get("userAgent")),
            )
        ]
    return []


def _message_ids(mail: dict[str, Any]) -> tuple[str, ...]:
    common = _object(mail.get("commonHeaders")).get("messageId")
    found = [common] if isinstance(common, str) else []
    for header in _list(mail.get("headers")):
        h = _object(header)
        if str(h.get("name", "")).lower() == "message-id" and isinstance(h.get("value"), str):
            found.append(h["value"])
    return tuple(found)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
