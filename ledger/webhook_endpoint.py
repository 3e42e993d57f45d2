"""A webhook endpoint an application registered: where to POST which events, and its secret's id.

Endpoints follow the Standard Webhooks specification (webhook-id, webhook-timestamp,
webhook-signature headers; `whsec_` secrets). The secret itself never enters the ledger (the
ledger is exported): events name it by id, and it is kept wrapped by the KEK apart from the
events. Rotation names the new secret and how long the previous one keeps signing beside it, so
receivers can switch without missing a delivery.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Literal, get_args
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import InvalidCommandError, InvalidValueError
from ledger.vocabulary import Actor

EventType = Literal["consent.changed", "contact.erased", "message.status"]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


def new_secret() -> tuple[str, bytes]:
    """A fresh signing secret: as shown once to the application (`whsec_…`), and its raw bytes."""
    raw = secrets.token_bytes(32)
    return SECRET_PREFIX + base64.b64encode(raw).decode(), raw


def checked_url(url: str) -> str:
    """An absolute http(s) URL with a host, at most 2,000 characters; `InvalidValueError` if not."""
    if len(url) > 2000:
        raise InvalidValueError("the endpoint URL is longer than 2000 characters")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidValueError("the endpoint URL must be an absolute http or https URL")
    if parts.username or parts.password:
        raise InvalidValueError("the endpoint URL must not carry credentials")
    return url


def checked_types(types: tuple[str, ...]) -> tuple[EventType, ...]:
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown or not types:
        raise InvalidValueError(f"event types are {', '.join(EVENT_TYPES)} (got {unknown or 'none'})")
    return tuple(t for t in EVENT_TYPES if t in types)


class WebhookEndpoint(Aggregate):
    TOPIC = "webhook_endpoint"

    class Created(Aggregate.Created):
        TOPIC = "webhook.endpoint_registered"
        owner: str | None
        url: str
        event_types: tuple[str, ...]
        secret_id: UUID
        actor: Actor

    class SecretRotated(Aggregate.Event):
        TOPIC = "webhook.secret_rotated"
        secret_id: UUID
        previous_secret_id: UUID
        previous_until: datetime
        actor: Actor

    class Removed(Aggregate.Event):
        TOPIC = "webhook.endpoint_removed"
        actor: Actor

    @event(Created)
    def __init__(
        self, *, owner: str | None, url: str, event_types: tuple[str, ...], secret_id: UUID, actor: Actor
    ) -> None:
        self.owner = owner
        self.url = url
        self.event_types = event_types
        self.secret_id = secret_id
        self.removed = False

    def rotate(self, secret_id: UUID, previous_until: datetime, actor: Actor) -> None:
        if self.removed:
            raise InvalidCommandError("the endpoint was removed")
        self._rotated(secret_id, self.secret_id, previous_until, actor)

    @event(SecretRotated)
    def _rotated(
        self, secret_id: UUID, previous_secret_id: UUID, previous_until: datetime, actor: Actor
    ) -> None:
        self.secret_id = secret_id

    def remove(self, actor: Actor) -> None:
        if not self.removed:
            self._removed(actor=actor)

    @event(Removed)
    def _removed(self, actor: Actor) -> None:
        self.removed = True


def register_endpoint(
    *, owner: str | None, url: str, event_types: tuple[str, ...], secret_id: UUID, actor: Actor
) -> WebhookEndpoint:
    return WebhookEndpoint(
        owner=owner,
        url=checked_url(url),
        event_types=checked_types(event_types),
        secret_id=secret_id,
        actor=actor,
    )
