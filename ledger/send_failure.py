"""Why a provider did not take a message: a category and its code in clear, its own words sealed.

Providers' error texts quote the address they refused (`550 5.1.1 <jürgen.müller@bücher.de>…`),
and events are immutable. So a `message.failed` or `message.dead_lettered` event keeps in clear
only what staff and analytics need (the category below, and the provider's code: an SMTP reply
code, a Twilio error code, an HTTP status), and the text only sealed with the contact's key,
already scrubbed: erasing the contact shreds it with everything else personal.
Events recorded before this rule keep their text (masked when read) and read as `legacy`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ledger.masking import scrub

FailureCategory = Literal[
    "recipient_refused",  # the provider says this address does not exist or is not valid
    "recipient_opted_out",  # the provider's own opt-out list (e.g. Twilio 21610 after STOP)
    "rejected",  # any other permanent refusal of this message
    "deferred",  # a temporary refusal: try later
    "auth_refused",  # our login or API credentials were refused
    "tls_failed",  # no encrypted connection: TLS mode mismatch or an untrusted certificate
    "unreachable",  # no answer: unknown host, refused connection, timeout
    "provider_error",  # the provider failed (5xx from an API, a malformed answer)
    "legacy",  # recorded before categories existed
]


class SendError(Exception):
    """The provider did not take the message; `permanent` ones are not retried.

    The message (`str(error)`) is the provider's own text, scrubbed of addresses by the sender
    that raised it; it is logged, and recorded only sealed.
    """

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        category: FailureCategory = "provider_error",
        code: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.permanent = permanent or category == "recipient_opted_out"
        self.category: FailureCategory = category
        self.code = code

    @property
    def recipient_opted_out(self) -> bool:
        """The provider refuses because the recipient unsubscribed with it (an SMS STOP the
        carrier enforces): the ledger records that as a channel opt-out."""
        return self.category == "recipient_opted_out"


@dataclass(frozen=True, slots=True)
class Failure:
    """A send failure as recorded: the sealed detail opens with the contact's key only."""

    category: FailureCategory
    code: str | None
    sealed_detail: bytes | None


def summary(category: str, code: str | None, legacy_error: str | None = None) -> str:
    """What staff see: `recipient_refused 550`, or `legacy: <the old, masked text>`."""
    if legacy_error is not None:
        return f"legacy: {legacy_error}"
    return f"{category} {code}" if code else category


def upcast_legacy_failure(state: dict[str, Any]) -> None:
    """A v1 `message.failed` / `dead_lettered` kept the provider's text in clear: read it masked
    again (today's scrubber knows more spellings than the one that wrote it), marked legacy."""
    legacy = scrub(str(state.pop("error", "")))
    state.update(category="legacy", code=None, sealed_detail=None, legacy_error=legacy)
