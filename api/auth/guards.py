"""Route guards: every route declares who may call it, with exactly one of these.

- `allow(*roles)`: staff users and service keys with one of `roles` (admin is always allowed);
- `contact_only`: a contact session token (for the contact's own data);
- `anyone`: no credentials needed (health, login, public verification, signed webhooks).

Who the caller is was settled by the authentication middleware (`api/auth/middleware.py`):
no principal → 401 with the reason; a principal of the wrong kind or role → 403.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from api.auth.principal import ROLES, Principal, Role

_CHALLENGE = 'Bearer realm="optin-ledger"'


class Guard:
    """A guard callable that also says, for the role-matrix test, who it lets in."""

    def __init__(self, roles: frozenset[Role], *, contact: bool = False, public: bool = False):
        self.roles = roles
        self.contact = contact
        self.public = public

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        # A coroutine, so Litestar calls it on the event loop instead of in a worker thread.
        if self.public:
            return
        if not self.admits(_authenticated(connection)):
            if self.contact:
                raise PermissionDeniedException("a contact session is required", extra={"roles": ["contact"]})
            allowed = [r for r in ROLES if r in self.roles]
            raise PermissionDeniedException(
                f"your role may not do this: only {', '.join(allowed)} may", extra={"roles": allowed}
            )

    def admits(self, principal: Principal | None) -> bool:
        """Whether this guard lets `principal` (None: anonymous) through."""
        if self.public:
            return True
        if principal is None:
            return False
        if self.contact:
            return principal.kind == "contact"
        return principal.role == "admin" or principal.role in self.roles

    def __repr__(self) -> str:
        kind = "anyone" if self.public else "contact_only" if self.contact else f"allow{sorted(self.roles)}"
        return f"<guard {kind}>"


def allow(*roles: Role) -> Guard:
    return Guard(frozenset(roles) | {"admin"})


contact_only = Guard(frozenset(), contact=True)
anyone = Guard(frozenset(), public=True)


def _authenticated(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if isinstance(user, Principal):
        return user
    failure = connection.scope.get("auth")
    reason = getattr(failure, "reason", None)
    challenge = f'{_CHALLENGE}, error="invalid_token"' if reason else _CHALLENGE
    raise NotAuthorizedException(reason or "authentication required", headers={"WWW-Authenticate": challenge})


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The caller a guard let in (routes guarded by `anyone` have none)."""
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("authentication required")
    return user
