"""Staff login: email and password, throttled per (email, client) and per client.

Every refusal looks the same from outside, whether the email has an account or not: the same
answer after the same work. The throttle counters are keyed by the email as typed (normalised),
never by whether it has an account, so a known and an unknown email are slowed and blocked alike;
one password check runs either way (a dummy one for an unknown email); and a known account's
failure is recorded on its stream (`user.login_failed`, `user.login_blocked`) in the background,
off the answer's path.

Counting by (email, client) rather than by account means nobody can lock an account for
everyone: guesses from one client slow down and then block that client for that email, and every
client is limited over all emails (`CLIENT_POLICY`), but the owner, from a client with no
failures, always gets in. Attempts are counted before the password is checked and forgiven on
success, so a burst of parallel guesses counts as it arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import structlog

from ledger.application.users import Accounts
from ledger.errors import InvalidValueError
from ledger.login_throttle import ACCOUNT_POLICY, CLIENT_POLICY
from ledger.ports import Background, LoginThrottle, PasswordChecking, StaffDirectory, StaffLogins
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
class LoggedIn:
    """Who logged in, and the credential version their token must carry."""

    user_id: UUID
    credential_version: int


class Login:
    def __init__(
        self,
        accounts: Accounts,
        logins: StaffLogins,
        directory: StaffDirectory,
        throttle: LoginThrottle,
        passwords: PasswordChecking,
        background: Background,
        *,
        keyed: Callable[[str], bytes],
        clock: Callable[[], datetime],
    ) -> None:
        """`keyed`: a keyed hash, so that no counter's key shows an email or an IP address."""
        self.accounts = accounts
        self.logins = logins
        self.directory = directory
        self.throttle = throttle
        self.passwords = passwords
        self.background = background
        self.keyed = keyed
        self.clock = clock  # tests move time forward through this
        self._writing: dict[UUID, tuple[asyncio.Lock, int]] = {}  # per account: a lock, its users

    async def log_in(self, email: str, password: str, *, client: str, correlation_id: str | None) -> LoggedIn:
        """The account, once the password is right; `LoginThrottledError` or `LoginRefusedError`."""
        now = self.clock()
        try:
            email = normalise_staff_email(email)
        except InvalidValueError:
            email = email.strip().lower()  # never an account, but counted like one
        client_key = self.keyed("client:" + client)
        pair_key = self.keyed("email-client:" + email + "\n" + client)
        blocked_until = await self._admit(client_key, pair_key, now)
        found = await self._account(email)
        user_id, password_hash = found if found else (None, None)
        matches = await self.passwords.verify(password_hash, password)
        failure, logged_in = await self._outcome(user_id, password_hash, matches)
        if logged_in is not None:
            await self.throttle.forgive(pair_key, now, reset=True)
            await self.throttle.forgive(client_key, now, reset=False)
            return logged_in
        if user_id is not None and failure is not None:
            actor = Actor(kind="system", id="login", correlation_id=correlation_id)
            self.background.spawn(self._record(user_id, failure, blocked_until, actor), "login failure")
        log.info(
            "login refused", user_id=str(user_id) if user_id else None, reason=failure or "unknown_email"
        )
        raise LoginRefusedError("invalid email or password")

    async def _record(
        self, user_id: UUID, failure: LoginFailure, blocked_until: datetime | None, actor: Actor
    ) -> None:
        """One account's failures are written one after the other: a burst of guesses would
        otherwise race for the account's next stream version."""
        lock, waiting = self._writing.get(user_id, (asyncio.Lock(), 0))
        self._writing[user_id] = (lock, waiting + 1)
        try:
            async with lock:
                await self.accounts.record_login_failure(user_id, failure, blocked_until, actor)
        finally:
            lock, waiting = self._writing[user_id]
            if waiting == 1:
                del self._writing[user_id]
            else:
                self._writing[user_id] = (lock, waiting - 1)

    async def _admit(self, client_key: bytes, pair_key: bytes, now: datetime) -> datetime | None:
        """Count the attempt by client and by (email, client), or refuse it; when this attempt
        reaches the block threshold, when the block it begins (if it fails) ends."""
        by_client = await self.throttle.attempt(client_key, CLIENT_POLICY, now)
        if not by_client.allowed:
            log.warning("login throttled", scope="client", retry_after=by_client.retry_after)
            raise LoginThrottledError(by_client.retry_after)
        by_pair = await self.throttle.attempt(pair_key, ACCOUNT_POLICY, now)
        if not by_pair.allowed:
            await self.throttle.forgive(client_key, now, reset=False)  # no password was tried
            log.warning("login throttled", scope="email_and_client", retry_after=by_pair.retry_after)
            raise LoginThrottledError(by_pair.retry_after)
        return by_pair.state.next_attempt_at if by_pair.blocks else None

    async def _account(self, email: str) -> tuple[UUID, str | None] | None:
        try:
            return await self.logins.login(self.accounts.email_index(email))
        except InvalidValueError:
            return None

    async def _outcome(
        self, user_id: UUID | None, password_hash: str | None, matches: bool
    ) -> tuple[LoginFailure | None, LoggedIn | None]:
        """Why a known account's login fails, or who logged in."""
        if user_id is None:
            return None, None
        if password_hash is None:
            return "no_password", None
        if not matches:
            return "wrong_password", None
        access = await self.directory.user_access(user_id)
        if access is None or access.disabled:
            return "disabled", None
        return None, LoggedIn(user_id, access.credential_version)
