"""Page hardening: CSRF tokens on every form, and security headers on every page response.

CSRF is Litestar's signed double-submit token (`CSRFMiddleware`): a random value signed with a
key derived from `OPTIN_TOKEN_KEY`, kept in an HttpOnly cookie and repeated in each form's
hidden `_csrf_token` field (or htmx's `X-CSRFToken` header); a POST whose two copies do not match
is refused with 403 before its handler runs. It is mounted on the page routers only: the JSON API
authenticates with bearer headers, which a foreign site cannot make a browser send.

The Content-Security-Policy allows scripts and styles from this origin only (htmx is a vendored
file), no inline script or style, no framing, and forms that post only back here.
"""

from __future__ import annotations

from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import Message, Scope

from adapters.settings import Settings
from api.auth.tokens import derive_key
from api.web.cookies import CSRF, cookie_name
from api.web.errors import is_page_path

CSRF_FIELD = "_csrf_token"
CSRF_HEADER = "x-csrftoken"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


def csrf_middleware(settings: Settings) -> DefineMiddleware:
    secret = derive_key(settings.token_key or b"", "csrf").hex()
    config = CSRFConfig(
        secret=secret,
        cookie_name=cookie_name(settings, CSRF),
        cookie_path="/",
        header_name=CSRF_HEADER,
        cookie_secure=settings.cookie_secure,
        cookie_httponly=True,
        cookie_samesite="lax",
    )
    return DefineMiddleware(CSRFMiddleware, config=config)


PAGE_OPT = "web_page"  # set on the page routers; the hook below finds their responses by it


async def security_headers(message: Message, scope: Scope) -> None:
    """App-wide `before_send` hook: the CSP and friends on every page response, errors included
    (a CSRF refusal is answered outside the router's middleware, so a middleware would miss it,
    and so is the page for a path no route matches).
    Pages are never stored by caches: they carry personal data and CSRF tokens. Async, because
    Litestar runs a plain function hook in a worker thread, twice per response."""
    if message["type"] != "http.response.start":
        return
    handler = scope.get("route_handler")
    if handler is None:  # no route matched: the app-wide handlers answered a page or a problem
        if not is_page_path(scope.get("path", "")):
            return
    elif not handler.opt.get(PAGE_OPT):
        return
    existing = {k.lower() for k, _ in message.get("headers", [])}
    extra = [(k, v) for k, v in _HEADERS if k not in existing]
    if b"cache-control" not in existing:
        extra.append((b"cache-control", b"no-store"))
    message["headers"] = [*message.get("headers", []), *extra]
