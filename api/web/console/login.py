"""Console login and logout: the API's login service (same throttle, same refusals), a cookie session."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from adapters.settings import Settings
from api.auth.authenticator import Authenticator
from api.auth.guards import anyone
from api.auth.login import LoginRefusedError, LoginService, LoginThrottledError
from api.auth.tokens import CONSOLE_TOKEN_TTL, issue_console_token, verify_staff_token
from api.dependencies import components, request_id
from api.web.cookies import CONSOLE, clear_cookie, cookie_name, set_cookie
from api.web.rendering import Form, page, see_other, viewer

LOGIN = components("login", "settings")


class LoginForm(msgspec.Struct, kw_only=True):
    email: str = ""
    password: str = ""


@get("/login", guards=[anyone])
async def login_page(request: Request[Any, Any, Any]) -> Response[Any]:
    if viewer(request) is not None:
        return see_other(request, "/console")
    return page(request, "console/login.html", title="Log in")


@post("/login", guards=[anyone], dependencies=LOGIN)
async def log_in(
    request: Request[Any, Any, Any],
    data: Annotated[LoginForm, Form],
    login: NamedDependency[LoginService],
    settings: NamedDependency[Settings],
) -> Response[Any]:
    client = request.client.host if request.client else "unknown"
    try:
        issued = await login.login(
            data.email, data.password, client=client, correlation_id=request_id(request)
        )
    except LoginThrottledError as e:
        throttled = page(request, "console/login.html", status=429, title="Log in", error=str(e))
        throttled.headers["Retry-After"] = str(e.retry_after)
        return throttled
    except LoginRefusedError:
        error = "Wrong email or password, or the account is disabled."
        return page(request, "console/login.html", status=401, title="Log in", error=error)
    verified = verify_staff_token(settings.token_key, issued.access_token)
    response = see_other(request, "/console")
    token = issue_console_token(
        settings.token_key, verified.subject, credential_version=verified.credential_version or 0
    )
    response.cookies.append(set_cookie(settings, CONSOLE, token, CONSOLE_TOKEN_TTL))
    return response


@post("/logout", guards=[anyone], dependencies=components("authenticator", "settings"))
async def log_out(
    request: Request[Any, Any, Any],
    authenticator: NamedDependency[Authenticator],
    settings: NamedDependency[Settings],
) -> Response[Any]:
    token = request.cookies.get(cookie_name(settings, CONSOLE))
    if token:
        await authenticator.end_console_session(token)
    response = see_other(request, "/console/login")
    response.cookies.append(clear_cookie(settings, CONSOLE))
    return response
