"""Route guards: every route declares who may call it, with exactly one of these.

- `allow(*roles)`: staff principals with one of `roles` (admin is always allowed);
- `contact_only`: a contact session token (for the contact's own data);
- `anyone`: no credentials needed (health, public verification, webhooks with their own checks).

Interim (until staff authentication lands): `allow` accepts only the bootstrap token from
`OPTIN_BOOTSTRAP_TOKEN` as `Authorization: Bearer …`, as an admin; with no token configured,
every guarded route answers 401, so nothing is ever open by accident.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from api.auth.principal import Principal, Role


class Guard:
    """A guard callable that also says, for the role-matrix test, who it lets in."""

    def __init__(self, roles: frozenset[Role], *, contact: bool = False, public: bool = False):
        self.roles = roles
        self.contact = contact
        self.public = public

    def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if self.public:
            return
        principal = _authenticate(connection)
        if self.contact:
            if principal.kind != "contact":
                raise PermissionDeniedException("a contact session is required")
            return
        if principal.role != "admin" and principal.role not in self.roles:
            raise PermissionDeniedException("your role may not do this")

    def __repr__(self) -> str:
        kind = "anyone" if self.public else "contact_only" if self.contact else f"allow{sorted(self.roles)}"
        return f"<guard {kind}>"


def allow(*roles: Role) -> Guard:
    return Guard(frozenset(roles) | {"admin"})


contact_only = Guard(frozenset(), contact=True)
anyone = Guard(frozenset(), public=True)


def _authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    expected = connection.app.state.services.settings.bootstrap_token
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(token, expected):
        raise NotAuthorizedException(
            "authentication required", headers={"WWW-Authenticate": 'Bearer realm="optin-ledger"'}
        )
    principal = Principal(kind="bootstrap", id="bootstrap", role="admin")
    connection.scope["user"] = principal
    return principal


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The caller a guard let in (routes guarded by `anyone` have none)."""
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("authentication required")
    return user
