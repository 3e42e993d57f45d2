"""The authenticated caller of a request, and the ledger actor it becomes in events."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec

from ledger.vocabulary import Actor

Role = Literal["admin", "staff", "auditor", "service"]
ROLES: tuple[Role, ...] = ("admin", "staff", "auditor", "service")
PrincipalKind = Literal["user", "api_key", "contact", "bootstrap"]


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """A staff user, a service API key, a contact with a session token, or the bootstrap token."""

    kind: PrincipalKind
    id: str
    role: Role | None = None
    contact_id: UUID | None = None

    def actor(self, correlation_id: str | None = None) -> Actor:
        match self.kind:
            case "user" | "api_key":
                return Actor(kind=self.kind, id=self.id, correlation_id=correlation_id)
            case "contact":
                return Actor(kind="contact", id=self.id, correlation_id=correlation_id)
            case _:
                return Actor(kind="system", id="bootstrap", correlation_id=correlation_id)
