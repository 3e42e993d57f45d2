"""Authentication middleware: reads `Authorization: Bearer …` and sets `scope["user"]` to a Principal.

It never refuses a request itself: a missing or bad credential leaves `scope["user"]` empty and
the reason in `scope["auth"]`, and the route's guard decides (an `anyone` route does not care, a
guarded one answers 401 with that reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware

from api.auth.authenticator import Authenticator
from api.auth.tokens import InvalidTokenError
from api.middleware import header as raw_header


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """Why the credential given was not accepted (safe to show the caller)."""

    reason: str


class BearerAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = raw_header(connection.scope, b"authorization")
        if not header:
            return AuthenticationResult(user=None, auth=None)
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            return AuthenticationResult(user=None, auth=AuthFailure("use Authorization: Bearer <token>"))
        authenticator: Authenticator = connection.app.state.components.authenticator
        try:
            principal = await authenticator.principal_for(credential)
        except InvalidTokenError as e:
            return AuthenticationResult(user=None, auth=AuthFailure(str(e)))
        return AuthenticationResult(user=principal, auth=principal.kind)


authentication = DefineMiddleware(BearerAuthenticationMiddleware)
