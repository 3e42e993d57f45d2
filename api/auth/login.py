"""Staff login as the API answers it: the login use case (`ledger/application/login.py`), then a
short-lived access token carrying the account's credential version."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from api.auth.tokens import STAFF_TOKEN_TTL, derive_key, issue_staff_token
from ledger.application.login import Login, LoginRefusedError, LoginThrottledError

__all__ = ["IssuedToken", "LoginRefusedError", "LoginService", "LoginThrottledError", "throttle_keys"]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


def throttle_keys(token_key: bytes | None) -> Callable[[str], bytes]:
    """The keyed hash of the login throttle's counters: emails and client addresses are personal
    data, so the table holds neither."""
    secret = derive_key(token_key or b"", "login-throttle")
    return lambda text: hmac.new(secret, text.encode(), hashlib.sha256).digest()


class LoginService:
    def __init__(self, logins: Login, *, token_key: bytes | None) -> None:
        self.logins = logins
        self.token_key = token_key

    async def login(
        self, email: str, password: str, *, client: str, correlation_id: str | None
    ) -> IssuedToken:
        """A staff access token; `LoginThrottledError` or `LoginRefusedError`."""
        who = await self.logins.log_in(email, password, client=client, correlation_id=correlation_id)
        token = issue_staff_token(self.token_key, who.user_id, credential_version=who.credential_version)
        return IssuedToken(token, int(STAFF_TOKEN_TTL.total_seconds()))
