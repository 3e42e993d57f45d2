"""Reading inbound mail with the standard library's `email` package: DSNs, ARF reports, plain mail.

- RFC 3464 delivery status notifications (`multipart/report; report-type=delivery-status`): the
  `message/delivery-status` part holds a per-message block, then one block per recipient with
  `Final-Recipient`, `Action` (failed, delayed, delivered, relayed, expanded) and `Status`
  (RFC 3463: 5.x.x permanent, 4.x.x transient).
- RFC 5965 abuse reports (`multipart/report; report-type=feedback-report`): the
  `message/feedback-report` part names the `Feedback-Type` (abuse, fraud, virus, other, …).
- Anything else is plain mail (for the unsubscribe mailbox: its sender and subject).

Both reports usually carry the original message or its headers (`message/rfc822` or
`text/rfc822-headers`), whose `Message-ID` and `Return-Path` name our send. Addresses in a
report are never trusted here: they are only candidates for a signed return path.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import parseaddr

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_ADDRESSED = ("To", "Delivered-To", "X-Original-To", "Envelope-To", "Return-Path")
_DETAIL_MAX = 500


@dataclass(frozen=True, slots=True)
class Original:
    """What a report says of the message it is about (from its copy or headers)."""

    message_ids: tuple[str, ...] = ()
    return_paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    action: str
    status: str | None
    diagnostic: str | None

    @property
    def bounce(self) -> str | None:
        """`hard`, `soft` or None (delivered, relayed, expanded: not a bounce)."""
        if self.action == "failed":
            return "soft" if self.status and self.status.startswith("4.") else "hard"
        if self.action == "delayed":
            return "soft"
        return None


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    recipients: tuple[RecipientStatus, ...]
    original: Original
    addressed: tuple[str, ...]
    """The report's own address headers: where a DSN to our return path names it."""


@dataclass(frozen=True, slots=True)
class FeedbackReport:
    feedback_type: str
    user_agent: str | None
    original: Original
    addressed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlainMail:
    sender: str | None
    """The `From` address, lower-cased (for the unsubscribe mailbox; checked, never trusted)."""
    subject: str
    addressed: tuple[str, ...]


Inbound = DeliveryReport | FeedbackReport | PlainMail


def read_inbound(raw: bytes) -> Inbound:
    """What a raw RFC 5322 message is; unparseable parts read as absent, never as an error."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    addressed = tuple(str(v) for name in _ADDRESSED for v in (_headers(message, name)))
    if message.get_content_type() == "multipart/report":
        kind = str(message.get_param("report-type", "") or "").lower()
        if kind == "delivery-status":
            return DeliveryReport(_statuses(message), _original(message), addressed)
        if kind == "feedback-report":
            fields = _blocks(message, "message/feedback-report")
            first = fields[0] if fields else Message()
            return FeedbackReport(
                feedback_type=_field(first, "Feedback-Type").lower(),
                user_agent=_field(first, "User-Agent") or None,
                original=_original(message),
                addressed=addressed,
            )
    sender = parseaddr(_field(message, "From"))[1].strip().lower() or None
    return PlainMail(sender=sender, subject=_field(message, "Subject"), addressed=addressed)


def status_code(value: str) -> str | None:
    """The RFC 3463 code in a `Status` field or a provider's text (`5.1.1`), if any."""
    found = _STATUS.search(value or "")
    return ".".join(found.groups()) if found else None


def clipped(text: str | None) -> str | None:
    """Free text from a report, bounded (it is sealed, never shown masked or searched)."""
    bounded = (text or "").strip()[:_DETAIL_MAX]
    return bounded or None


def _statuses(message: EmailMessage) -> tuple[RecipientStatus, ...]:
    blocks = _blocks(message, "message/delivery-status")
    found = []
    for block in blocks[1:]:  # the first block is about the message, the rest one per recipient
        action = _field(block, "Action").lower()
        if action:
            status = status_code(_field(block, "Status"))
            found.append(RecipientStatus(action, status, _field(block, "Diagnostic-Code")))
    return tuple(found)


def _blocks(message: EmailMessage, content_type: str) -> list[Message]:
    for part in message.walk():
        if part.get_content_type() == content_type:
            payload = part.get_payload()
            if isinstance(payload, list):
                return [p for p in payload if isinstance(p, Message)]
    return []


def _original(message: EmailMessage) -> Original:
    """Message-ID and Return-Path of the reported message's copy (`message/rfc822`) or headers."""
    for part in message.walk():
        kind = part.get_content_type()
        copy: Message | None = None
        if kind == "message/rfc822":
            payload = part.get_payload()
            first = payload[0] if isinstance(payload, list) and payload else None
            copy = first if isinstance(first, Message) else None
        elif kind == "text/rfc822-headers":
            copy = email.message_from_string(_text(part), policy=email.policy.default)
        if copy is not None:
            return Original(
                message_ids=tuple(str(v) for v in _headers(copy, "Message-ID")),
                return_paths=tuple(str(v) for v in _headers(copy, "Return-Path")),
            )
    return Original()


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    return str(part.get_payload())


def _headers(message: Message, name: str) -> list[str]:
    try:
        return [str(v) for v in message.get_all(name, [])]
    except (ValueError, TypeError, IndexError):  # a header the policy cannot parse
        return []


def _field(message: Message, name: str) -> str:
    values = _headers(message, name)
    return values[0].strip() if values else ""
