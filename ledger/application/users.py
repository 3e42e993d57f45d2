"""Staff account commands (create, change, API keys, failed logins), shared by the API and the CLI.

Each is "load, decide, save" on the `User` aggregate, plus the one piece of state the ledger must
not hold: the email lookup and password hash in `PostgresCredentials`. That state is written
before the events, so an account never exists in the ledger without its login.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from adapters.postgres.credentials import PostgresCredentials
from api.auth.api_keys import NewApiKey, new_api_key
from api.auth.passwords import PasswordHasher
from ledger.errors import ConflictError, InvalidValueError
from ledger.passwords import check_password
from ledger.repository import Repository
from ledger.user import LoginFailure, User, UserRole, create_user, normalise_staff_email
from ledger.vocabulary import Actor

_RETRIES = 3  # a concurrent write to the same account (say, a failed login) is worth a retry


class Accounts:
    """Commands on staff accounts."""

    def __init__(
        self,
        repository: Repository,
        credentials: PostgresCredentials,
        hasher: PasswordHasher,
        *,
        index_key: bytes | None,
        token_key: bytes | None,
    ) -> None:
        self.repository = repository
        self.credentials = credentials
        self.hasher = hasher
        self._index_key = index_key
        self._token_key = token_key
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
        await self.credentials.claim_email(self.email_index(email), user.id, password_hash)
        try:
            position = await self.repository.save(user)
        except Exception:
            await self.credentials.release_email(user.id)
            raise
        return user, position

    async def change(
        self,
        user_id: UUID,
        *,
        actor: Actor,
        role: UserRole | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> tuple[User, int]:
        """Apply the given changes (each optional) in one append."""
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

        return await self._update(user_id, command)

    async def issue_api_key(self, user_id: UUID, actor: Actor) -> tuple[UUID, NewApiKey, int]:
        if not self._token_key:
            raise RuntimeError("OPTIN_TOKEN_KEY is not configured")
        key_id, key = uuid.uuid4(), new_api_key(self._token_key)
        _, position = await self._update(
            user_id, lambda user: user.issue_api_key(key_id, key.prefix, key.hash, actor)
        )
        return key_id, key, position

    async def revoke_api_key(self, user_id: UUID, key_id: UUID, actor: Actor) -> int:
        _, position = await self._update(user_id, lambda user: user.revoke_api_key(key_id, actor))
        return position

    async def record_login_failure(
        self, user_id: UUID, reason: LoginFailure, blocked_until: datetime | None, actor: Actor
    ) -> None:
        def command(user: User) -> None:
            user.record_login_failure(reason, actor)
            if blocked_until is not None:
                user.record_login_block(blocked_until, actor)

        await self._update(user_id, command)

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
