"""Names and constraints shared by the domain and every schema built on it (defined once, here)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")

Purpose = Literal["marketing", "transactional"]

ActorKind = Literal["user", "api_key", "contact", "system"]

ProgramName = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Description = Annotated[str, msgspec.Meta(max_length=2000)]
DisclosureText = Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class Actor(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who caused an event: a staff user, an API key, the contact themselves, or the system."""

    kind: ActorKind
    id: str | None = None
    correlation_id: str | None = None


SYSTEM = Actor(kind="system")
