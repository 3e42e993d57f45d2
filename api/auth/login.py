"""Staff login: email and password → access token, throttled per account and per client address.

Every refusal looks the same to the caller (no hint whether the email has an account) and takes
about as long. Refusals for a known account are recorded on its stream as `user.login_failed`
(with the reason, never the password); reaching the block threshold also records
`user.login_blocked`. Attempts refused by the throttle are not guesses and are only logged.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import structlog

from adapters.postgres.credentials import PostgresCredentials
from adapters.postgres.throttle import PostgresThrottle
from api.auth.directory import UserDirectory
from api.auth.passwords import PasswordHasher
from api.auth.tokens import STAFF_TOKEN_TTL, derive_key, issue_staff_token
from ledger.application.users import Accounts
from ledger.errors import InvalidValueError
from ledger.login_throttle import ACCOUNT_POLICY, CLIENT_POLICY
from ledger.user import LoginFailure, normalise_staff_email
from ledger.vocabulary import Actor

log = structlog.get_logger(__name__)


class LoginRefusedError(Exception):
    """Wrong email or password, or a disabled account: all look alike from outside."""


class LoginThrottledError(Exception):
    """Too many attempts: try again after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many login attempts; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


class LoginService:
    def __init__(
        self,
        accounts: Accounts,
        credentials: PostgresCredentials,
        directory: UserDirectory,
        throttle: PostgresThrottle,
        hasher: PasswordHasher,
        *,
        token_key: bytes | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.accounts = accounts
        self.credentials = credentials
        self.directory = directory
        self.throttle = throttle
        self.hasher = hasher
        self.token_key = token_key
        self.clock = clock  # tests move time forward through this

    def _client_key(self, client: str) -> bytes:
        # The client address is personal data: the counter is keyed by a keyed hash of it.
        secret = derive_key(self.token_key or b"", "login-throttle")
        return b"client:" + hmac.new(secret, client.encode(), hashlib.sha256).digest()

    async def login(
        self, email: str, password: str, *, client: str, correlation_id: str | None
    ) -> IssuedToken:
        now = self.clock()
        client_key = self._client_key(client)
        by_client = await self.throttle.attempt(client_key, CLIENT_POLICY, now)
        if not by_client.allowed:
            log.warning("login throttled", scope="client", retry_after=by_client.retry_after)
            raise LoginThrottledError(by_client.retry_after)
        try:
            found = await self.credentials.login(self.accounts.email_index(normalise_staff_email(email)))
        except InvalidValueError:
            found = None
        user_id, password_hash = found if found else (None, None)
        account_key = b"account:" + user_id.bytes if user_id else None
        blocked_until: datetime | None = None
        if account_key is not None:
            by_account = await self.throttle.attempt(account_key, ACCOUNT_POLICY, now)
            if not by_account.allowed:
                await self.throttle.forgive(client_key, now, reset=False)  # no password was tried
                log.warning("login throttled", scope="account", user_id=str(user_id))
                raise LoginThrottledError(by_account.retry_after)
            if by_account.blocks:  # if this attempt fails too, the block begins
                blocked_until = by_account.state.next_attempt_at
        matches = await self.hasher.verify(password_hash, password)
        failure = await self._failure(user_id, password_hash, matches)
        if failure is None and user_id is not None and account_key is not None:
            await self.throttle.forgive(account_key, now, reset=True)
            await self.throttle.forgive(client_key, now, reset=False)
            token = issue_staff_token(self.token_key, user_id)
            return IssuedToken(token, int(STAFF_TOKEN_TTL.total_seconds()))
        if user_id is not None and failure is not None:
            actor = Actor(kind="system", id="login", correlation_id=correlation_id)
            await self.accounts.record_login_failure(user_id, failure, blocked_until, actor)
        log.info(
            "login refused", user_id=str(user_id) if user_id else None, reason=failure or "unknown_email"
        )
        raise LoginRefusedError("invalid email or password")

    async def _failure(
        self, user_id: UUID | None, password_hash: str | None, matches: bool
    ) -> LoginFailure | None:
        if user_id is None:
            return None
        if password_hash is None:
            return "no_password"
        if not matches:
            return "wrong_password"
        access = await self.directory.user_access(user_id)
        if access is None or access.disabled:
            return "disabled"
        return None
