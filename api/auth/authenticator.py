"""Turn a bearer credential into a `Principal`: staff JWT, service API key, or contact session.

The role and the disabled flag are read from the users read model on every request, never from
the token, so a role change or a disabled account takes effect at the next request. A staff token
or console session carries the account's credential version, and is refused once a password
change, a role change or disabling the account has bumped it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from adapters.postgres.contact_sessions import PostgresContactLogouts
from adapters.postgres.credentials import PostgresCredentials
from api.auth.api_keys import api_key_hash, looks_like_api_key
from api.auth.directory import UserDirectory
from api.auth.key_answers import KeyAnswers
from api.auth.principal import Principal
from api.auth.tokens import (
    CONSOLE_TOKEN_TTL,
    CONTACT_TOKEN_TTL,
    ConsoleSession,
    ContactSession,
    InvalidTokenError,
    VerifiedToken,
    verify_console_token,
    verify_contact_session,
    verify_staff_token,
)

_TOUCH_EVERY = 60.0  # seconds between last-used writes for one key, per process
# An API key's answer is reused this long by one process (`api/auth/key_answers.py`): consent
# checks are the hot path and would otherwise pay a second query each. Changes made through this
# process forget it at once; a revocation made through another replica takes effect within this
# time. A key in use is asked again in the background once its answer is this old:
_KEY_TTL = 1.0
_KEY_REFRESH_AFTER = 0.75


class Authenticator:
    """Resolves credentials; raises `InvalidTokenError` with a reason safe to show the caller."""

    def __init__(
        self,
        directory: UserDirectory,
        credentials: PostgresCredentials,
        token_key: bytes | None,
        clock: Callable[[], datetime],
        contact_logouts: PostgresContactLogouts,
    ) -> None:
        self._directory = directory
        self._credentials = credentials
        self._contact_logouts = contact_logouts
        self._token_key = token_key
        self._clock = clock
        self._touched: dict[UUID, float] = {}
        self._keys = KeyAnswers(self._key_lookup, ttl=_KEY_TTL, refresh_after=_KEY_REFRESH_AFTER)

    def forget_keys(self) -> None:
        self._keys.forget()

    async def principal_for(self, credential: str) -> Principal:
        if looks_like_api_key(credential):
            return await self._api_key(credential)
        try:
            return await self._staff(credential)
        except InvalidTokenError as staff_error:
            try:
                session = verify_contact_session(self._token_key, credential)
            except InvalidTokenError:
                raise staff_error from None
        return await self._contact(session)

    async def contact_principal(self, token: str) -> Principal:
        """The contact behind a session token or cookie, unless that session was signed out."""
        return await self._contact(verify_contact_session(self._token_key, token))

    async def end_contact_session(self, session_id: str) -> None:
        """Sign out: the session is refused from now on, wherever its token was copied."""
        await self._contact_logouts.end(session_id, forget_after=CONTACT_TOKEN_TTL)

    async def _contact(self, session: ContactSession) -> Principal:
        if await self._contact_logouts.ended(session.session_id):
            raise InvalidTokenError("this session was signed out; ask for a new code")
        return Principal(
            kind="contact",
            id=str(session.contact_id),
            contact_id=session.contact_id,
            verification_id=session.verification_id,
            session_id=session.session_id,
        )

    async def console_principal(self, token: str) -> tuple[Principal, ConsoleSession]:
        """The staff user behind a console session cookie (checked like a bearer token, and not
        logged out), and the session (the console renews it as it is used)."""
        session = verify_console_token(self._token_key, token)
        if await self._credentials.console_session_ended(session.session_id):
            raise InvalidTokenError("this session was logged out; log in again")
        verified = VerifiedToken(session.user_id, session.issued_at, {"cv": session.credential_version})
        return await self._user(verified), session

    async def end_console_session(self, token: str) -> None:
        """Log out: the session of this cookie is refused from now on, wherever it was copied."""
        try:
            session = verify_console_token(self._token_key, token)
        except InvalidTokenError:
            return  # nothing valid to end
        await self._credentials.end_console_session(session.session_id, forget_after=CONSOLE_TOKEN_TTL)

    async def _staff(self, token: str) -> Principal:
        return await self._user(verify_staff_token(self._token_key, token))

    async def _user(self, verified: VerifiedToken) -> Principal:
        access = await self._directory.user_access(verified.subject)
        if access is None:
            raise InvalidTokenError("invalid or expired token")
        if access.disabled:
            raise InvalidTokenError("this account is disabled")
        # A version, not a time: a token issued in the same second as a change is older too.
        if verified.credential_version != access.credential_version:
            raise InvalidTokenError(
                "the account's credentials changed since this token was issued; log in again"
            )
        return Principal(kind="user", id=str(access.user_id), role=access.role)

    async def _api_key(self, secret: str) -> Principal:
        if not self._token_key:
            raise InvalidTokenError("invalid API key")
        key_hash = api_key_hash(self._token_key, secret)
        cached = self._keys.cached(key_hash)
        return cached if cached is not None else await self._keys.principal(key_hash)

    async def _key_lookup(self, key_hash: bytes) -> Principal:
        found = await self._directory.key_access(key_hash)
        if found is None:
            raise InvalidTokenError("invalid API key")
        key_id, access = found
        if access.key_revoked:
            raise InvalidTokenError("this API key was revoked")
        if access.disabled or access.role != "service":
            raise InvalidTokenError("this API key's account is disabled")
        await self._touch(key_id)
        return Principal(kind="api_key", id=str(key_id), role="service")

    async def _touch(self, key_id: UUID) -> None:
        now = time.monotonic()
        if now - self._touched.get(key_id, -_TOUCH_EVERY) >= _TOUCH_EVERY:
            self._touched[key_id] = now
            await self._credentials.touch_api_key(key_id, self._clock())
