"""Cookie sessions for the pages: the console's staff session and a contact's verified session.

Page routers do not read `Authorization` headers; these middlewares replace whatever the bearer
middleware found with the principal of the router's own cookie (or none), so the ordinary guards
(`allow`, `contact_only`) decide. A console session is the same check as a staff token (role and
disabled flag read fresh each request, refused once the account's credential version moved on) and is renewed
while it is used, so it expires after an idle half hour. Logging out (or a contact signing out)
ends the session on the server too: a copy of the cookie taken before is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.settings import Settings
from api.auth.authenticator import Authenticator
from api.auth.principal import Principal
from api.auth.tokens import (
    CONSOLE_TOKEN_TTL,
    InvalidTokenError,
    issue_console_token,
)
from api.web.cookies import CONSOLE, CONTACT, clear_cookie, cookie_name, set_cookie

_RENEW_AFTER = timedelta(minutes=5)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key_text, _, text = part.strip().partition("=")
                if key_text == name and text:
                    return text
    return None


class CookieSession:
    """ASGI middleware: `scope["user"]` from this router's session cookie, renewing console ones."""

    def __init__(self, app: ASGIApp, settings: Settings, kind: str) -> None:
        self.app = app
        self.settings = settings
        self.kind = kind
        self.name = cookie_name(settings, CONSOLE if kind == "console" else CONTACT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _cookie(scope, self.name)
        principal: Principal | None = None
        refresh: str | None = None  # a new cookie value, "" to clear a bad one
        if token:
            try:
                principal, refresh = await self._resolve(scope, token)
            except InvalidTokenError:
                refresh = ""
        scope["user"] = principal
        scope["auth"] = None

        async def with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and refresh is not None:
                headers = MutableScopeHeaders.from_message(message)
                if not _sets_cookie(headers, self.name):  # a login or logout answer wins
                    cookie = (
                        set_cookie(self.settings, CONSOLE, refresh, CONSOLE_TOKEN_TTL)
                        if refresh
                        else clear_cookie(self.settings, CONSOLE if self.kind == "console" else CONTACT)
                    )
                    headers.add("set-cookie", cookie.to_header(header=""))
            await send(message)

        await self.app(scope, receive, with_cookie)

    async def _resolve(self, scope: Scope, token: str) -> tuple[Principal, str | None]:
        authenticator: Authenticator = scope["litestar_app"].state.components.authenticator
        if self.kind == "contact":
            return await authenticator.contact_principal(token), None
        principal, console = await authenticator.console_principal(token)
        if datetime.now(UTC) - console.issued_at < _RENEW_AFTER:
            return principal, None
        renewed = issue_console_token(
            self.settings.token_key,
            UUID(principal.id),
            credential_version=console.credential_version or 0,
            session_id=console.session_id,
        )
        return principal, renewed


def _sets_cookie(headers: Any, name: str) -> bool:
    return any(v.startswith(name + "=") for v in headers.getall("set-cookie", []))


def console_session(settings: Settings) -> DefineMiddleware:
    return DefineMiddleware(CookieSession, settings=settings, kind="console")


def contact_session(settings: Settings) -> DefineMiddleware:
    return DefineMiddleware(CookieSession, settings=settings, kind="contact")
