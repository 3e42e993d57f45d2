"""Reads of the users read model: account lists for admins, and what authentication checks per request."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from adapters.postgres.staff_emails import StaffEmails
from ledger.errors import NotFoundError
from ledger.user import UserRole


class ApiKeyView(msgspec.Struct, kw_only=True):
    id: UUID
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class UserView(msgspec.Struct, kw_only=True):
    """An account as admins see it: the email in full (staff are not contacts; accounts made before
    emails were kept show it masked), and its API keys (never the secrets)."""

    id: UUID
    email: str
    email_masked: str
    role: UserRole
    disabled: bool
    created_at: datetime
    updated_at: datetime
    api_keys: list[ApiKeyView] = msgspec.field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Access:
    """What a request's credential resolves to, read fresh for every request."""

    user_id: UUID
    role: UserRole
    disabled: bool
    credential_version: int = 0
    """Bumped by a password change, a role change and disabling (`ledger.user.CREDENTIAL_CHANGES`)."""
    key_revoked: bool = False


_USERS = "SELECT id, email_masked, role, disabled, created_at, updated_at FROM users "
_PAGE = (
    "WHERE ($1::text IS NULL OR role = $1) AND ($2::uuid IS NULL OR (created_at, id) > "
    "(SELECT created_at, id FROM users WHERE id = $2)) ORDER BY created_at, id LIMIT $3"
)
_KEYS = (
    "SELECT k.id, k.user_id, k.prefix, k.created_at, k.revoked_at, u.last_used_at FROM api_keys k "
    "LEFT JOIN api_key_usage u ON u.key_id = k.id WHERE k.user_id = ANY($1) ORDER BY k.created_at, k.id"
)


class UserDirectory:
    """Queries on `users`, `api_keys` and `api_key_usage`."""

    def __init__(self, pool: asyncpg.Pool, emails: StaffEmails | None = None) -> None:
        self._pool = pool
        self._emails = emails

    async def emails(self, user_ids: Collection[UUID], *, full: bool) -> dict[UUID, str]:
        """Accounts' emails by id: in full (for admins) where kept, else masked."""
        if not user_ids:
            return {}
        rows = await self._pool.fetch("SELECT id, email_masked FROM users WHERE id = ANY($1)", list(user_ids))
        found = {r["id"]: r["email_masked"] for r in rows}
        if full and self._emails is not None:
            found.update(await self._emails.emails(list(found)))
        return found

    async def get(self, user_id: UUID) -> UserView:
        found = await self._views(await self._pool.fetch(_USERS + "WHERE id = $1", user_id))
        if not found:
            raise NotFoundError(f"no user with id {user_id}")
        return found[0]

    async def page(self, *, role: UserRole | None, after: UUID | None, limit: int) -> list[UserView]:
        """Oldest first; `after` is the last id of the previous page."""
        rows = await self._pool.fetch(
            _USERS + _PAGE,
            role,
            after,
            limit,
        )
        return await self._views(rows)

    async def admin_ids(self) -> list[UUID]:
        """`ledger.ports.AdminDirectory`: every admin account, enabled or not."""
        return [r[0] for r in await self._pool.fetch("SELECT id FROM users WHERE role = 'admin'")]

    async def user_access(self, user_id: UUID) -> Access | None:
        row = await self._pool.fetchrow(
            "SELECT id, role, disabled, credential_version FROM users WHERE id = $1", user_id
        )
        return None if row is None else Access(*row)

    async def key_access(self, key_hash: bytes) -> tuple[UUID, Access] | None:
        row = await self._pool.fetchrow(
            "SELECT k.id, u.id, u.role, u.disabled, k.revoked_at IS NOT NULL FROM api_keys k "
            "JOIN users u ON u.id = k.user_id WHERE k.hash = $1",
            key_hash,
        )
        if row is None:
            return None
        return row[0], Access(row[1], row[2], row[3], key_revoked=row[4])

    async def _views(self, rows: list[asyncpg.Record]) -> list[UserView]:
        full = await self._emails.emails([r["id"] for r in rows]) if self._emails else {}
        views = {
            r["id"]: UserView(
                id=r["id"],
                email=full.get(r["id"], r["email_masked"]),
                email_masked=r["email_masked"],
                role=r["role"],
                disabled=r["disabled"],
                created_at=r["created_at"],
                updated_at=r["updated_at"],
            )
            for r in rows
        }
        if views:
            for k in await self._pool.fetch(_KEYS, list(views)):
                views[k["user_id"]].api_keys.append(
                    ApiKeyView(
                        id=k["id"],
                        prefix=k["prefix"],
                        created_at=k["created_at"],
                        revoked_at=k["revoked_at"],
                        last_used_at=k["last_used_at"],
                    )
                )
        return list(views.values())
