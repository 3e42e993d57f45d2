"""Staff accounts and their API keys: create, change (role, disabled, password), issue, revoke.

Each command is "load, decide, save" on the `User` aggregate, plus the one piece of state the
ledger must not hold: the email lookup and password hash (`Credentials`). That state is written
before the events, so an account never exists in the ledger without its login. Commands an admin
makes wait until authentication sees them (`ReadModels.settle`), so a disabled account or a
revoked key is refused from the next request on.

The last enabled admin: no change may leave the service without one, and no admin disables or
demotes themselves. Checked against the read model alone, two admins disabling each other at the
same moment would both pass (each still sees the other enabled) and leave none. So every change
that can take an admin away runs under one named lock (`Locks`: a PostgreSQL advisory lock in
production) held until its events are appended, and counts the other enabled admins from their
event streams, which are never behind, rather than from the read model: the second of two such
changes waits for the first to be written, then sees it. An admin the read model does not list
yet (created or promoted a moment ago) is not counted, so the rule errs on the side of refusing.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import structlog

from ledger.errors import ConflictError, InvalidCommandError, InvalidValueError
from ledger.passwords import check_password
from ledger.ports import (
    AdminDirectory,
    ApiKeyMinter,
    Credentials,
    Locks,
    NewApiKey,
    PasswordHashing,
    ReadModels,
)
from ledger.repository import Repository
from ledger.user import LoginFailure, User, UserRole, create_user, normalise_staff_email
from ledger.vocabulary import Actor

ADMINS_LOCK = "users:enabled-admins"
_RETRIES = 3  # a concurrent write to the same account (say, a failed login) is worth a retry
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Issued:
    key_id: UUID
    key: NewApiKey
    position: int


class Accounts:
    """Commands on staff accounts."""

    def __init__(
        self,
        repository: Repository,
        credentials: Credentials,
        hasher: PasswordHashing,
        keys: ApiKeyMinter,
        *,
        admins: AdminDirectory,
        locks: Locks,
        reads: ReadModels,
        index_key: bytes | None,
    ) -> None:
        self.repository = repository
        self.credentials = credentials
        self.hasher = hasher
        self.keys = keys
        self.admins = admins
        self.locks = locks
        self.reads = reads
        self._index_key = index_key
        self.changed: Callable[[], None] = lambda: None  # told after every account change

    def email_index(self, email: str) -> bytes:
        """The keyed hash the login lookup stores instead of the email."""
        if not self._index_key:
            raise RuntimeError("OPTIN_INDEX_KEY is not configured")
        return hmac.new(self._index_key, b"staff-email:" + email.encode(), hashlib.sha256).digest()

    async def create(
        self, *, email: str, role: UserRole, password: str | None, actor: Actor
    ) -> tuple[User, int]:
        """A new account; people need a password, service accounts may live on API keys alone."""
        email = normalise_staff_email(email)
        if password is None and role != "service":
            raise InvalidValueError("a password is required for admin, staff and auditor accounts")
        if password is not None:
            check_password(password, email=email)
        user = create_user(email=email, role=role, actor=actor)
        password_hash = await self.hasher.hash(password) if password is not None else None
        await self.credentials.claim_email(self.email_index(email), user.id, password_hash, email)
        try:
            position = await self.repository.save(user)
        except Exception:
            await self.credentials.release_email(user.id)
            raise
        await self._settle(position)
        return user, position

    async def change(
        self,
        user_id: UUID,
        *,
        actor: Actor,
        role: UserRole | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> int:
        """Apply the given changes (each optional) in one append; the ledger position."""
        if role is None and disabled is None and password is None:
            raise InvalidValueError("nothing to change: give role, disabled or password")
        if password is not None:
            check_password(password)
            await self.repository.get(User, user_id)  # no hash is stored for an unknown account
            await self.credentials.set_password_hash(user_id, await self.hasher.hash(password))

        def command(user: User) -> None:
            if role is not None:
                user.change_role(role, actor)
            if disabled is True:
                user.disable(actor)
            elif disabled is False:
                user.reenable(actor)
            if password is not None:
                user.record_password_change(actor)

        if disabled or role not in (None, "admin"):  # may take an admin away: see the docstring
            async with self.locks.hold(ADMINS_LOCK):
                await self._keep_an_admin(user_id, actor)
                _, position = await self._update(user_id, command)
        else:
            _, position = await self._update(user_id, command)
        await self._settle(position)
        return position

    async def issue_api_key(self, user_id: UUID, actor: Actor) -> Issued:
        """A new key for the account; its secret is in the answer and nowhere else."""
        key_id, key = uuid.uuid4(), self.keys.new()
        _, position = await self._update(
            user_id, lambda user: user.issue_api_key(key_id, key.prefix, key.hash, actor)
        )
        await self._settle(position)
        return Issued(key_id, key, position)

    async def revoke_api_key(self, user_id: UUID, key_id: UUID, actor: Actor) -> int:
        _, position = await self._update(user_id, lambda user: user.revoke_api_key(key_id, actor))
        await self._settle(position)
        return position

    async def record_login_failure(
        self, user_id: UUID, reason: LoginFailure, blocked_until: datetime | None, actor: Actor
    ) -> None:
        def command(user: User) -> None:
            user.record_login_failure(reason, actor)
            if blocked_until is not None:
                user.record_login_block(blocked_until, actor)

        await self._update(user_id, command)

    async def _keep_an_admin(self, user_id: UUID, actor: Actor) -> None:
        """Refuse to take away the last enabled admin, or an admin's own rights (lock held)."""
        target = await self.repository.get(User, user_id)
        if target.role != "admin":
            return
        if actor.kind == "user" and actor.id == str(user_id):
            raise InvalidCommandError("you cannot disable or demote your own account")
        for other_id in await self.admins.admin_ids():
            if other_id == user_id:
                continue
            other = await self.repository.find(User, other_id)
            if other is not None and other.role == "admin" and not other.disabled:
                return
        raise InvalidCommandError("the last enabled admin cannot be disabled or demoted")

    async def _update(self, user_id: UUID, command: Callable[[User], None]) -> tuple[User, int]:
        for attempt in range(_RETRIES):
            user = await self.repository.get(User, user_id)
            command(user)
            try:
                position = await self.repository.save(user)
                self.changed()
                return user, position
            except ConflictError:
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def _settle(self, position: int) -> None:
        if not await self.reads.settle(position, ["users"]):
            log.warning(
                "users read model is lagging; the change applies when it catches up", position=position
            )
