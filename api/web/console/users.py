"""Console users and API keys (admins only): create accounts, change role, disable, issue and
revoke service keys. The same account commands and last-admin rules as the API."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from adapters.clock import SystemClock
from api.auth.directory import UserDirectory
from api.dependencies import components
from api.routes.users import NewUser, UserChange, issued
from api.web.console.access import ADMINS
from api.web.rendering import Form, page, see_other
from ledger.application.users import Accounts
from ledger.errors import DomainError
from ledger.vocabulary import Actor

USERS = components("accounts", "directory")
KEYS = components("accounts", "directory", "clock")


class NewUserForm(msgspec.Struct, kw_only=True):
    email: str = ""
    role: str = "staff"
    password: str = ""


class ChangeForm(msgspec.Struct, kw_only=True):
    role: str = ""
    disabled: str = ""  # "1" disable, "0" enable, "" leave


async def _page(
    request: Request[Any, Any, Any],
    directory: UserDirectory,
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
        users=await directory.page(role=None, after=None, limit=500),
        error=error,
        notice=notice,
        issued=issued,
        me=str(getattr(request.scope.get("user"), "id", "")),
    )


@get("/users", guards=[ADMINS], dependencies=components("directory"))
async def users_page(
    request: Request[Any, Any, Any], directory: NamedDependency[UserDirectory]
) -> Response[Any]:
    return await _page(request, directory)


@post("/users", guards=[ADMINS], dependencies=USERS)
async def create(
    request: Request[Any, Any, Any],
    data: Annotated[NewUserForm, Form],
    accounts: NamedDependency[Accounts],
    directory: NamedDependency[UserDirectory],
    actor: NamedDependency[Actor],
) -> Response[Any]:
    try:
        body = msgspec.convert(
            {"email": data.email.strip(), "role": data.role, "password": data.password or None}, NewUser
        )
        user, _ = await accounts.create(email=body.email, role=body.role, password=body.password, actor=actor)
    except (msgspec.ValidationError, DomainError) as e:
        return await _page(request, directory, status=422, error=str(e))
    view = await directory.get(user.id)
    return await _page(request, directory, status=201, notice=f"Created {view.email} ({view.role}).")


@post("/users/{user_id:uuid}", guards=[ADMINS], dependencies=USERS)
async def change(
    request: Request[Any, Any, Any],
    user_id: FromPath[UUID],
    data: Annotated[ChangeForm, Form],
    accounts: NamedDependency[Accounts],
    directory: NamedDependency[UserDirectory],
    actor: NamedDependency[Actor],
) -> Response[Any]:
    try:
        body = msgspec.convert(
            {"role": data.role or None, "disabled": {"1": True, "0": False}.get(data.disabled)}, UserChange
        )
        await accounts.change(user_id, actor=actor, role=body.role, disabled=body.disabled)
    except (msgspec.ValidationError, DomainError) as e:
        return await _page(request, directory, status=422, error=str(e))
    return see_other(request, "/console/users")


@post(
    "/users/{user_id:uuid}/api-keys",
    guards=[ADMINS],
    dependencies=components("accounts", "directory", "clock"),
)
async def issue(
    request: Request[Any, Any, Any],
    user_id: FromPath[UUID],
    accounts: NamedDependency[Accounts],
    directory: NamedDependency[UserDirectory],
    clock: NamedDependency[SystemClock],
    actor: NamedDependency[Actor],
) -> Response[Any]:
    try:
        done = await accounts.issue_api_key(user_id, actor)
    except DomainError as e:
        return await _page(request, directory, status=422, error=str(e))
    response = await _page(request, directory, status=201, issued=issued(done, user_id, clock.now()))
    response.headers["Cache-Control"] = "no-store"
    return response


@post("/users/{user_id:uuid}/api-keys/{key_id:uuid}/revoke", guards=[ADMINS], dependencies=USERS)
async def revoke(
    request: Request[Any, Any, Any],
    user_id: FromPath[UUID],
    key_id: FromPath[UUID],
    accounts: NamedDependency[Accounts],
    directory: NamedDependency[UserDirectory],
    actor: NamedDependency[Actor],
) -> Response[Any]:
    try:
        await accounts.revoke_api_key(user_id, key_id, actor)
    except DomainError as e:
        return await _page(request, directory, status=422, error=str(e))
    return see_other(request, "/console/users")
