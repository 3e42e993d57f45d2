"""Admin API for staff accounts: create, list, change role, disable, reset password, API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from adapters.clock import SystemClock
from api.answers import written
from api.auth.directory import UserDirectory, UserView
from api.auth.guards import allow
from api.auth.principal import Role
from api.dependencies import components
from ledger.application.users import Accounts, Issued
from ledger.vocabulary import Actor

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


def issued(done: Issued, user_id: UUID, at: datetime) -> IssuedKey:
    """The answer to issuing a key (shared with the console)."""
    key = done.key
    return IssuedKey(id=done.key_id, key=key.secret, prefix=key.prefix, user_id=user_id, created_at=at)


class UsersController(Controller):
    path = "/v1/users"
    guards = (allow(),)
    tags = ("users",)
    dependencies = components("accounts", "directory", "clock")

    @post("/", summary="Create a staff user or service account")
    async def create(
        self,
        data: JSONBody[NewUser],
        accounts: NamedDependency[Accounts],
        directory: NamedDependency[UserDirectory],
        actor: NamedDependency[Actor],
    ) -> Response[UserView]:
        user, position = await accounts.create(
            email=data.email, role=data.role, password=data.password, actor=actor
        )
        return written(await directory.get(user.id), position)

    @get("/", summary="List accounts, oldest first (staff emails in full: staff are not contacts)")
    async def list_users(
        self,
        directory: NamedDependency[UserDirectory],
        caught_up: NamedDependency[int | None],
        role: FromQuery[Role | None] = None,
        after: Annotated[UUID | None, QueryParameter(description="The last id of the previous page.")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> UserPage:
        users = await directory.page(role=role, after=after, limit=limit)
        return UserPage(users=users, next_after=users[-1].id if len(users) == limit else None)

    @patch("/{user_id:uuid}", summary="Change role, disable or re-enable, or set a new password")
    async def change(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[UserChange],
        accounts: NamedDependency[Accounts],
        directory: NamedDependency[UserDirectory],
        actor: NamedDependency[Actor],
    ) -> Response[UserView]:
        position = await accounts.change(
            user_id, actor=actor, role=data.role, disabled=data.disabled, password=data.password
        )
        return written(await directory.get(user_id), position, status_code=200)

    @post("/{user_id:uuid}/api-keys", summary="Issue an API key for a service account (shown once)")
    async def issue_key(
        self,
        user_id: FromPath[UUID],
        accounts: NamedDependency[Accounts],
        clock: NamedDependency[SystemClock],
        actor: NamedDependency[Actor],
    ) -> Response[IssuedKey]:
        key = await accounts.issue_api_key(user_id, actor)
        response = written(issued(key, user_id, clock.now()), key.position)
        response.headers["Cache-Control"] = "no-store"
        return response

    @delete("/{user_id:uuid}/api-keys/{key_id:uuid}", summary="Revoke an API key (at once)")
    async def revoke_key(
        self,
        user_id: FromPath[UUID],
        key_id: FromPath[UUID],
        accounts: NamedDependency[Accounts],
        actor: NamedDependency[Actor],
    ) -> Response[None]:
        position = await accounts.revoke_api_key(user_id, key_id, actor)
        return written(None, position, status_code=204)
