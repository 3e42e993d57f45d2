"""Console users and API keys (admins only): create accounts, change role, disable, issue and
revoke service keys. The same account commands and last-admin rules as the API."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from api.auth.services import AuthServices, provide_auth
from api.routes.users import NewUser, UserChange, change_user, create_user, issue_api_key, revoke_api_key
from api.services import Services
from api.web.console.access import ADMINS
from api.web.rendering import Form, page, see_other
from ledger.errors import DomainError

AUTH = {"auth": Provide(provide_auth, sync_to_thread=False)}


class NewUserForm(msgspec.Struct, kw_only=True):
    email: str = ""
    role: str = "staff"
    password: str = ""


class ChangeForm(msgspec.Struct, kw_only=True):
    role: str = ""
    disabled: str = ""  # "1" disable, "0" enable, "" leave


async def _page(
    request: Request[Any, Any, Any],
    auth: AuthServices,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    issued: Any = None,
) -> Response[Any]:
    return page(
        request,
        "console/users.html",
        status=status,
        title="Users and API keys",
        users=await auth.directory.page(role=None, after=None, limit=500),
        error=error,
        notice=notice,
        issued=issued,
        me=str(getattr(request.scope.get("user"), "id", "")),
    )


@get("/users", guards=[ADMINS], dependencies=AUTH)
async def users_page(request: Request[Any, Any, Any], auth: NamedDependency[AuthServices]) -> Response[Any]:
    return await _page(request, auth)


@post("/users", guards=[ADMINS], dependencies=AUTH)
async def create(
    request: Request[Any, Any, Any],
    data: Annotated[NewUserForm, Form],
    services: NamedDependency[Services],
    auth: NamedDependency[AuthServices],
) -> Response[Any]:
    try:
        body = msgspec.convert(
            {"email": data.email.strip(), "role": data.role, "password": data.password or None}, NewUser
        )
        view, _ = await create_user(services, auth, request, body)
    except (msgspec.ValidationError, DomainError) as e:
        return await _page(request, auth, status=422, error=str(e))
    return await _page(request, auth, status=201, notice=f"Created {view.email} ({view.role}).")


@post("/users/{user_id:uuid}", guards=[ADMINS], dependencies=AUTH)
async def change(
    request: Request[Any, Any, Any],
    user_id: FromPath[UUID],
    data: Annotated[ChangeForm, Form],
    services: NamedDependency[Services],
    auth: NamedDependency[AuthServices],
) -> Response[Any]:
    try:
        body = msgspec.convert(
            {"role": data.role or None, "disabled": {"1": True, "0": False}.get(data.disabled)}, UserChange
        )
        await change_user(services, auth, request, user_id, body)
    except (msgspec.ValidationError, DomainError) as e:
        return await _page(request, auth, status=422, error=str(e))
    return see_other(request, "/console/users")


@post("/users/{user_id:uuid}/api-keys", guards=[ADMINS], dependencies=AUTH)
async def issue(
    request: Request[Any, Any, Any],
    user_id: FromPath[UUID],
    services: NamedDependency[Services],
    auth: NamedDependency[AuthServices],
) -> Response[Any]:
    try:
        issued, _ = await issue_api_key(services, auth, request, user_id)
    except DomainError as e:
        return await _page(request, auth, status=422, error=str(e))
    response = await _page(request, auth, status=201, issued=issued)
    response.headers["Cache-Control"] = "no-store"
    return response


@post("/users/{user_id:uuid}/api-keys/{key_id:uuid}/revoke", guards=[ADMINS], dependencies=AUTH)
async def revoke(
    request: Request[Any, Any, Any],
    user_id: FromPath[UUID],
    key_id: FromPath[UUID],
    services: NamedDependency[Services],
    auth: NamedDependency[AuthServices],
) -> Response[Any]:
    try:
        await revoke_api_key(services, auth, request, user_id, key_id)
    except DomainError as e:
        return await _page(request, auth, status=422, error=str(e))
    return see_other(request, "/console/users")
