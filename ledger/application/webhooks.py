"""Registering, rotating and removing webhook endpoints: load, decide, save (secrets kept apart).

An application manages its own endpoints; an admin manages any, and may register one for every
application (owner None). A new secret is shown once, to the caller, and stored wrapped; after a
rotation the previous secret keeps signing for the overlap the caller chose.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from ledger.errors import InvalidValueError, NotFoundError
from ledger.ports import Clock
from ledger.repository import Repository
from ledger.vocabulary import Actor
from ledger.webhook_endpoint import WebhookEndpoint, new_secret, register_endpoint

MAX_OVERLAP = timedelta(days=7)


class WebhookSecretStore(Protocol):
    async def store(self, endpoint_id: UUID, secret_id: UUID, raw: bytes) -> None: ...

    async def retire(self, secret_id: UUID, at: datetime) -> None: ...

    async def remove(self, endpoint_id: UUID) -> None: ...


@dataclass(frozen=True, slots=True)
class Issued:
    """An endpoint and its new secret (`whsec_…`, shown once), and the ledger position."""

    endpoint: WebhookEndpoint
    secret: str
    position: int
    previous_until: datetime | None = None
    """After a rotation: until when the previous secret keeps signing."""


class WebhookRegistry:
    def __init__(self, repository: Repository, secrets: WebhookSecretStore, clock: Clock) -> None:
        self.repository = repository
        self.secrets = secrets
        self.clock = clock

    async def register(
        self, owner: str | None, url: str, event_types: tuple[str, ...], actor: Actor
    ) -> Issued:
        secret_text, raw = new_secret()
        secret_id = uuid.uuid4()
        endpoint = register_endpoint(
            owner=owner, url=url, event_types=event_types, secret_id=secret_id, actor=actor
        )
        await self.secrets.store(endpoint.id, secret_id, raw)
        return Issued(endpoint, secret_text, await self.repository.save(endpoint))

    async def rotate(
        self, endpoint_id: UUID, overlap: timedelta, actor: Actor, manager: str | None
    ) -> Issued:
        """A new current secret; the previous one signs beside it for `overlap` (0 to 7 days)."""
        if not timedelta(0) <= overlap <= MAX_OVERLAP:
            raise InvalidValueError("the overlap must be between 0 and 7 days")
        endpoint = await self.get(endpoint_id, manager)
        secret_text, raw = new_secret()
        previous, secret_id = endpoint.secret_id, uuid.uuid4()
        until = self.clock.now() + overlap
        endpoint.rotate(secret_id, until, actor)
        await self.secrets.store(endpoint.id, secret_id, raw)
        position = await self.repository.save(endpoint)
        await self.secrets.retire(previous, until)
        return Issued(endpoint, secret_text, position, until)

    async def remove(self, endpoint_id: UUID, actor: Actor, manager: str | None) -> int:
        """Removed on the ledger, then its secrets are deleted (nothing is signed for it again)."""
        endpoint = await self.get(endpoint_id, manager)
        endpoint.remove(actor)
        position = await self.repository.save(endpoint)
        await self.secrets.remove(endpoint_id)
        return position

    async def get(self, endpoint_id: UUID, manager: str | None) -> WebhookEndpoint:
        """The endpoint, if `manager` may manage it (None: an admin, who may manage any)."""
        endpoint = await self.repository.find(WebhookEndpoint, endpoint_id)
        if endpoint is None or endpoint.removed or (manager is not None and endpoint.owner != manager):
            raise NotFoundError(f"no webhook endpoint with id {endpoint_id}")
        return endpoint
