"""Staff login: `POST /v1/auth/token`, the OAuth2 password grant, answering a short-lived bearer JWT."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.params import Body

from api.auth.guards import anyone
from api.auth.login import LoginRefusedError, LoginService, LoginThrottledError
from api.dependencies import component, request_id

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenRequest(msgspec.Struct, kw_only=True):
    """The OAuth2 password grant form (other OAuth2 fields, such as `client_id`, are ignored)."""

    username: Annotated[str, msgspec.Meta(min_length=1, max_length=254, description="the account's email")]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    grant_type: Literal["password"] | None = None
    scope: str = ""


class TokenResponse(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: str
    expires_in: int


@post(
    "/v1/auth/token",
    guards=[anyone],
    tags=["auth"],
    summary="Staff login (OAuth2 password form) → bearer token",
    status_code=200,
    dependencies={"login": component("login")},
    opt={
        "problems": {
            401: "Wrong email or password, or a disabled account (`error`: `invalid_grant`).",
            429: "Too many failed logins: try again after `Retry-After`.",
        }
    },
)
async def token(
    request: Request[Any, Any, Any],
    login: NamedDependency[LoginService],
    data: Annotated[TokenRequest, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[TokenResponse]:
    client = request.client.host if request.client else "unknown"
    try:
        issued = await login.login(
            data.username, data.password, client=client, correlation_id=request_id(request)
        )
    except LoginThrottledError as e:
        raise HTTPException(
            status_code=429, detail=str(e), headers={"Retry-After": str(e.retry_after), **_NO_STORE}
        ) from None
    except LoginRefusedError as e:
        challenge = {"WWW-Authenticate": 'Bearer realm="optin-ledger"', **_NO_STORE}
        raise NotAuthorizedException(str(e), headers=challenge, extra={"error": "invalid_grant"}) from None
    return Response(
        TokenResponse(access_token=issued.access_token, token_type="bearer", expires_in=issued.expires_in),  # noqa: S106,
        headers=_NO_STORE,
    )
