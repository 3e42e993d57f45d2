"""The authenticated caller of a request, and the ledger actor it becomes in events."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec

from ledger.user import USER_ROLES, UserRole
from ledger.vocabulary import Actor

Role = UserRole
ROLES: tuple[Role, ...] = USER_ROLES
PrincipalKind = Literal["user", "api_key", "contact"]


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """A staff user (JWT), a service API key, or a contact with a session token."""

    kind: PrincipalKind
    id: str
    role: Role | None = None
    contact_id: UUID | None = None
    verification_id: UUID | None = None  # contacts: the code that proved this session
    session_id: str | None = None  # contacts: what signing out ends

    def actor(self, correlation_id: str | None = None) -> Actor:
        """Who the events this caller causes name: its kind and id, and the request's correlation id."""
        return Actor(kind=self.kind, id=self.id, correlation_id=correlation_id)
