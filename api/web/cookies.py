"""The pages' cookies: names, attributes and how they are set and cleared.

Every cookie is `HttpOnly` and `SameSite=Lax`, and `Secure` unless `OPTIN_COOKIE_SECURE=false`
(only for plain-HTTP test clients: browsers keep `Secure` cookies on http://localhost too). With
`Secure` the names take the `__Host-` prefix, which browsers honour only for cookies that are
`Secure`, host-only and `Path=/`: no subdomain or plain-HTTP page can plant one.
"""

from __future__ import annotations

from datetime import timedelta

from litestar.datastructures import Cookie

from adapters.settings import Settings

CONSOLE = "optin_console"
CONTACT = "optin_contact"
PENDING = "optin_pending"
CSRF = "optin_csrf"


def cookie_name(settings: Settings, base: str) -> str:
    return ("__Host-" + base) if settings.cookie_secure else base


def set_cookie(settings: Settings, base: str, value: str, max_age: timedelta) -> Cookie:
    return Cookie(
        key=cookie_name(settings, base),
        value=value,
        path="/",
        max_age=int(max_age.total_seconds()),
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def clear_cookie(settings: Settings, base: str) -> Cookie:
    return Cookie(
        key=cookie_name(settings, base),
        value="",
        path="/",
        max_age=0,
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
