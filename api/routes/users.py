"""Admin API for staff accounts: create, list, change role, disable, reset password, API keys."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
import structlog
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.auth.directory import UserView
from api.auth.guards import allow, principal_of
from api.auth.principal import Role
from api.auth.services import AuthServices, provide_auth
from api.routes.auth import correlation_id
from api.services import Services, written
from ledger.errors import InvalidCommandError, InvalidValueError
from ledger.vocabulary import Actor
from projections.runner import ProjectionLagError, wait_for_position

log = structlog.get_logger(__name__)

Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class NewUser(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    role: Role
    password: Password | None = None


class UserChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: Role | None = None
    disabled: bool | None = None
    password: Password | None = None


class UserPage(msgspec.Struct, kw_only=True):
    users: list[UserView]
    next_after: UUID | None


class IssuedKey(msgspec.Struct, kw_only=True):
    """The key itself appears here once and nowhere else: store it now."""

    id: UUID
    key: str
    prefix: str
    user_id: UUID
    created_at: datetime


def _actor(request: Request[Any, Any, Any]) -> Actor:
    return principal_of(request).actor(correlation_id(request))


async def _settled(services: Services, position: int) -> None:
    """Wait until authentication sees this write, so a disabled account or revoked key is refused at once."""
    with contextlib.suppress(ProjectionLagError):
        await wait_for_position(services.pool, position, ["users"])
        return
    log.warning("users read model is lagging; the change applies when it catches up", position=position)


class UsersController(Controller):
    path = "/v1/users"
    guards = (allow(),)
    tags = ("users",)
    dependencies = {"auth": Provide(provide_auth, sync_to_thread=False)}  # noqa: RUF012

    @post("/", summary="Create a staff user or service account")
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[NewUser],
        services: NamedDependency[Services],
        auth: NamedDependency[AuthServices],
    ) -> Response[UserView]:
        view, position = await create_user(services, auth, request, data)
        return written(view, position)

    @get("/", summary="List accounts, oldest first (emails masked)")
    async def list_users(
        self,
        auth: NamedDependency[AuthServices],
        caught_up: NamedDependency[int | None],
        role: FromQuery[Role | None] = None,
        after: Annotated[UUID | None, QueryParameter(description="The last id of the previous page.")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> UserPage:
        users = await auth.directory.page(role=role, after=after, limit=limit)
        return UserPage(users=users, next_after=users[-1].id if len(users) == limit else None)

    @patch("/{user_id:uuid}", summary="Change role, disable or re-enable, or set a new password")
    async def change(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[UUID],
        data: JSONBody[UserChange],
        services: NamedDependency[Services],
        auth: NamedDependency[AuthServices],
    ) -> Response[UserView]:
        position = await change_user(services, auth, request, user_id, data)
        return written(await auth.directory.get(user_id), position, status_code=200)

    @post("/{user_id:uuid}/api-keys", summary="Issue an API key for a service account (shown once)")
    async def issue_key(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[UUID],
        services: NamedDependency[Services],
        auth: NamedDependency[AuthServices],
    ) -> Response[IssuedKey]:
        issued, position = await issue_api_key(services, auth, request, user_id)
        response = written(issued, position)
        response.headers["Cache-Control"] = "no-store"
        return response

    @delete("/{user_id:uuid}/api-keys/{key_id:uuid}", summary="Revoke an API key (at once)")
    async def revoke_key(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[UUID],
        key_id: FromPath[UUID],
        services: NamedDependency[Services],
        auth: NamedDependency[AuthServices],
    ) -> Response[None]:
        position = await revoke_api_key(services, auth, request, user_id, key_id)
        return written(None, position, status_code=204)


async def change_user(
    services: Services, auth: AuthServices, request: Request[Any, Any, Any], user_id: UUID, data: UserChange
) -> int:
    """Change role, disabled flag or password; never leaves the service without an enabled admin,
    and no admin disables or demotes themselves. Waits until authentication sees the change."""
    if data.role is None and data.disabled is None and data.password is None:
        raise InvalidValueError("nothing to change: give role, disabled or password")
    current = await auth.directory.get(user_id)
    if current.role == "admin" and (data.disabled or data.role not in (None, "admin")):
        if principal_of(request).id == str(user_id):
            raise InvalidCommandError("you cannot disable or demote your own account")
        if await auth.directory.enabled_admins(excluding=user_id) == 0:
            raise InvalidCommandError("the last enabled admin cannot be disabled or demoted")
    _, position = await auth.accounts.change(
        user_id, actor=_actor(request), role=data.role, disabled=data.disabled, password=data.password
    )
    await _settled(services, position)
    return position


async def issue_api_key(
    services: Services, auth: AuthServices, request: Request[Any, Any, Any], user_id: UUID
) -> tuple[IssuedKey, int]:
    """A new API key for a service account; the secret is in the answer and nowhere else."""
    key_id, key, position = await auth.accounts.issue_api_key(user_id, _actor(request))
    await _settled(services, position)
    issued = IssuedKey(id=key_id, key=key.secret, prefix=key.prefix, user_id=user_id, created_at=auth.clock())
    return issued, position


async def revoke_api_key(
    services: Services, auth: AuthServices, request: Request[Any, Any, Any], user_id: UUID, key_id: UUID
) -> int:
    position = await auth.accounts.revoke_api_key(user_id, key_id, _actor(request))
    await _settled(services, position)
    return position


async def create_user(
    services: Services, auth: AuthServices, request: Request[Any, Any, Any], data: NewUser
) -> tuple[UserView, int]:
    user, position = await auth.accounts.create(
        email=data.email, role=data.role, password=data.password, actor=_actor(request)
    )
    await _settled(services, position)
    return await auth.directory.get(user.id), position
