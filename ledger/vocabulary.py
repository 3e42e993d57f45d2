"""Names and constraints shared by the domain and every schema built on it (defined once, here)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from ledger.errors import InvalidValueError

Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")

Purpose = Literal["marketing", "transactional"]

ActorKind = Literal["user", "api_key", "contact", "system"]

Action = Literal["opt_in", "opt_out"]
ConsentStatus = Literal["unknown", "pending", "opted_in", "opted_out"]
Source = Literal[
    "web", "api", "app", "sms_keyword", "email_one_click", "admin", "provider", "import",
    # email feedback (ledger/email_feedback.py): a bounce, a spam complaint, a mail to the unsubscribe address
    "bounce", "complaint", "email_reply",
]  # fmt: skip
"""Through what a consent change came: `app` an application's API key, `admin` a staff member,
`provider` the SMS provider reporting that the recipient unsubscribed with it; `bounce`,
`complaint` and `email_reply` come from email feedback."""

ProgramName = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Description = Annotated[str, msgspec.Meta(max_length=2000)]
DisclosureText = Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


# No control characters but tab and newline (PostgreSQL text cannot even hold NUL).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def checked_text(value: str, field: str, *, max_length: int, multiline: bool = False) -> str:
    """`value` if it is acceptable text for `field`, else `InvalidValueError` naming the field."""
    if not value.strip():
        raise InvalidValueError(f"{field} must not be empty")
    if len(value) > max_length:
        raise InvalidValueError(f"{field} is longer than {max_length} characters")
    if _CONTROL.search(value) or (not multiline and ("\n" in value or "\t" in value)):
        raise InvalidValueError(f"{field} contains control characters")
    return value


class Actor(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who caused an event: a staff user, an API key, the contact themselves, or the system."""

    kind: ActorKind
    id: str | None = None
    correlation_id: str | None = None


SYSTEM = Actor(kind="system")
