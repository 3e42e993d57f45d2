"""What each event of a contact's timeline means, said in words for the console.

Pure: an event's topic and its (already masked, non-personal) details in, one sentence out. The
email feedback events keep their own wording (`api/web/console/feedback.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from api.web.console.feedback import in_words

Details = Mapping[str, Any]

SOURCES = {
    "web": "the contact's own web page",
    "api": "the API",
    "app": "an application (API key)",
    "sms_keyword": "an SMS keyword",
    "email_one_click": "the unsubscribe link in an email",
    "admin": "staff, on the contact's behalf",
    "provider": "the SMS provider (the recipient unsubscribed with it)",
    "import": "an import",
    "bounce": "bounces",
    "complaint": "a spam complaint",
    "email_reply": "an email to the unsubscribe address",
}
_CHANNELS = {"email": "email", "sms": "SMS"}


def _program(names: Mapping[str, str], details: Details) -> str:
    optin = details.get("optin_id")
    return names.get(str(optin), "a program") if optin else "a program"


def _channel(details: Details) -> str:
    channel = details.get("channel")
    return _CHANNELS.get(str(channel), str(channel)) if channel else ""


_KINDS = {
    "verification_code": "A code message",
    "optin_invite": "An opt-in invitation",
    "optin_confirmation": "An opt-in confirmation",
    "transactional": "A transactional message",
    "promotional": "A promotional message",
    "optout_confirmation": "An opt-out confirmation",
}


def _kind(d: Details) -> str:
    kind = str(d.get("kind", "message"))
    return _KINDS.get(kind, "A " + kind.replace("_", " ") + " message")


def _requested(d: Details, names: Mapping[str, str]) -> str:
    verb = "opt in to" if d.get("action") == "opt_in" else "opt out of"
    return f"Asked to {verb} {_program(names, d)} by {_channel(d)}: a code was sent to confirm."


def _issued(d: Details, names: Mapping[str, str]) -> str:
    if d.get("optin_id"):
        verb = "opting in to" if d.get("action") == "opt_in" else "opting out of"
        return f"A code was sent by {_channel(d)} for {verb} {_program(names, d)}."
    return f"A code was sent by {_channel(d)} to sign in to the preferences page."


def _blocked(d: Details, names: Mapping[str, str]) -> str:
    reason = str(d.get("reason", "")).replace("_", " ")
    return f"A message was not sent: {reason}." if reason else "A message was not sent."


Words = Callable[[Details, Mapping[str, str]], str]
_WORDS: dict[str, Words] = {
    "contact.registered": lambda d, n: f"The contact was registered ({_channel(d) or 'address'}).",
    "contact.erased": lambda d, n: "The contact was erased: their personal data can no longer be read.",
    "consent.opened": lambda d, n: f"A consent record was opened for {_program(n, d)} by {_channel(d)}.",
    "consent.requested": _requested,
    "consent.granted": lambda d, n: f"Opted in to {_program(n, d)} by {_channel(d)}.",
    "consent.withdrawn": lambda d, n: f"Opted out of {_program(n, d)} by {_channel(d)}.",
    "consent.lapsed": lambda d, n: (
        f"The request for {_program(n, d)} ended unanswered "
        "(its code expired or was locked); nothing changed."
    ),
    "channel.opened": lambda d, n: f"A record of {_channel(d)}-wide opt-outs was opened.",
    "channel.opted_out": lambda d, n: f"Opted out of every {_channel(d)} message.",
    "channel.resubscribed": lambda d, n: f"{_channel(d)} messages are allowed again.",
    "verification.issued": _issued,
    "verification.confirmed": lambda d, n: "The code was confirmed: the contact proved the address.",
    "verification.failed": lambda d, n: f"A wrong code was entered (attempt {d.get('attempt', '?')}).",
    "verification.locked": lambda d, n: "Too many wrong codes: the code was locked.",
    "verification.expired": lambda d, n: "A code expired unused.",
    "message.requested": lambda d, n: f"{_kind(d)} was requested by {_channel(d)}.",
    "message.queued": lambda d, n: "The message was queued to send.",
    "message.blocked": _blocked,
    "message.diverted": lambda d, n: "No consent yet: an opt-in invitation was sent instead.",
    "message.sent": lambda d, n: f"The message was handed to {d.get('provider', 'the provider')}.",
    "message.delivered": lambda d, n: "The provider reported the message delivered.",
    "message.undelivered": lambda d, n: "The provider reported the message undelivered.",
    "message.failed": lambda d, n: f"Sending failed ({d.get('category', 'error')}); it will be retried.",
    "message.dead_lettered": lambda d, n: f"Sending gave up after {d.get('attempts', 'several')} attempts.",
    "message.cancelled": lambda d, n: "The message was cancelled before sending: consent changed.",
    "evidence.exported": lambda d, n: f"The contact's evidence was exported ({d.get('events', '?')} events).",
}


def what_happened(topic: str, details: Details, names: Mapping[str, str]) -> str:
    """One sentence: what the event means. `names`: program names by id (as text)."""
    said = in_words(topic, dict(details))
    if said:
        return said
    words = _WORDS.get(topic)
    if words is not None:
        return words(details, names)
    return topic.replace(".", ": ").replace("_", " ").capitalize() + "."


def source_words(source: str | None, keyword: str | None = None) -> str | None:
    if source is None:
        return None
    said = SOURCES.get(source, source.replace("_", " "))
    return f"{said} ({keyword})" if keyword else said
