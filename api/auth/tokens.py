"""Signed bearer tokens: staff access tokens (JWT) and contact session tokens.

Both are HS256 JWTs checked with Litestar's `Token` (PyJWT): algorithm pinned, issuer, audience,
expiry and subject required. Each audience signs with its own key derived from `OPTIN_TOKEN_KEY`,
and is checked against its own audience, so a contact session can never pass as a staff token or
the other way round, even if one check were forgotten.

For issue 4: `issue_contact_token(token_key, contact_id)` after a verified code, and
`verify_contact_token(token_key, token)` → the contact id (the auth middleware already does this
for `Authorization: Bearer …` and gives `contact_only` routes a `Principal(kind="contact")`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from litestar.exceptions import ImproperlyConfiguredException, NotAuthorizedException
from litestar.security.jwt import Token

ALGORITHM = "HS256"
ISSUER = "optin-ledger"
STAFF_AUDIENCE = "optin-ledger:staff"
CONTACT_AUDIENCE = "optin-ledger:contact"
CONSOLE_AUDIENCE = "optin-ledger:console"
STAFF_TOKEN_TTL = timedelta(minutes=15)
CONTACT_TOKEN_TTL = timedelta(minutes=30)
CONSOLE_TOKEN_TTL = timedelta(minutes=30)  # idle time out: each console page renews it
_REQUIRED = ("exp", "iat", "sub", "iss", "aud", "jti")


class InvalidTokenError(ValueError):
    """A token that is malformed, forged, expired, or meant for another audience."""


@functools.lru_cache(maxsize=64)
def derive_key(token_key: bytes, purpose: str) -> bytes:
    """A key for one purpose only, from the one configured secret (HMAC-SHA256 as a KDF).
    Kept once derived: it is asked for on every request with an API key or a token."""
    return hmac.new(token_key, b"optin-ledger/" + purpose.encode(), hashlib.sha256).digest()


def b64url_canonical(token: str, size: int, what: str) -> bytes:
    """The `size` bytes an unpadded base64url `token` encodes, else `InvalidTokenError`.

    Only the one canonical spelling is accepted: a last character whose unused low bits are set
    decodes to the same bytes, so a link could otherwise be rewritten and still pass its check.
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidTokenError(f"not {what}") from None
    if len(raw) != size or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        raise InvalidTokenError(f"not {what}")
    return raw


def _secret(token_key: bytes | None, audience: str) -> str:
    if not token_key:
        raise InvalidTokenError("no token key is configured")
    return derive_key(token_key, "jwt:" + audience).hex()


def _issue(
    token_key: bytes | None,
    audience: str,
    subject: UUID,
    ttl: timedelta,
    extras: dict[str, object] | None = None,
) -> str:
    now = datetime.now(UTC)
    token = Token(
        exp=now + ttl,
        iat=now,
        sub=str(subject),
        iss=ISSUER,
        aud=audience,
        jti=secrets.token_urlsafe(12),
        extras=extras or {},
    )
    return token.encode(_secret(token_key, audience), ALGORITHM)


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    subject: UUID
    issued_at: datetime
    extras: dict[str, object] | None = None

    @property
    def credential_version(self) -> int | None:
        """The account's credential version when this was issued (`cv`; None: no such claim)."""
        version = (self.extras or {}).get("cv")
        return version if isinstance(version, int) and not isinstance(version, bool) else None


def _verify(token_key: bytes | None, audience: str, token: str) -> VerifiedToken:
    try:
        decoded = Token.decode(
            token,
            _secret(token_key, audience),
            ALGORITHM,
            audience=[audience],
            issuer=ISSUER,
            require_claims=_REQUIRED,
            strict_audience=True,
        )
        return VerifiedToken(UUID(decoded.sub), decoded.iat, dict(decoded.extras))
    except (NotAuthorizedException, ImproperlyConfiguredException, ValueError) as e:
        raise InvalidTokenError("invalid or expired token") from e


def issue_staff_token(
    token_key: bytes | None,
    user_id: UUID,
    *,
    credential_version: int = 0,
    ttl: timedelta = STAFF_TOKEN_TTL,
) -> str:
    """An access token for a staff user. The role is looked up at each request, not carried; the
    account's credential version is (`cv`), so a later password or role change or disabling
    the account ends it."""
    return _issue(token_key, STAFF_AUDIENCE, user_id, ttl, {"cv": credential_version})


def verify_staff_token(token_key: bytes | None, token: str) -> VerifiedToken:
    """The user id, issue time and credential version of a valid staff token, else
    `InvalidTokenError` (whether the version is still the account's is the caller's check)."""
    return _verify(token_key, STAFF_AUDIENCE, token)


def issue_contact_token(
    token_key: bytes | None,
    contact_id: UUID,
    *,
    verification_id: UUID | None = None,
    ttl: timedelta = CONTACT_TOKEN_TTL,
) -> str:
    """A short-lived session token for one contact who has just proved control of an address.

    It names the verification that proved it (`vid`), the evidence consent changes made in this
    session rest on, and the session (`sid`), so that signing out ends it wherever a copy is.
    """
    extras: dict[str, object] = {"sid": secrets.token_urlsafe(16)}
    if verification_id:
        extras["vid"] = str(verification_id)
    return _issue(token_key, CONTACT_AUDIENCE, contact_id, ttl, extras)


@dataclass(frozen=True, slots=True)
class ContactSession:
    contact_id: UUID
    verification_id: UUID | None
    session_id: str


def verify_contact_session(token_key: bytes | None, token: str) -> ContactSession:
    """The contact, the verification and the session id behind a valid session token, else
    `InvalidTokenError` (whether the session was signed out is the caller's check)."""
    verified = _verify(token_key, CONTACT_AUDIENCE, token)
    extras = verified.extras or {}
    vid, sid = extras.get("vid"), extras.get("sid")
    if not isinstance(sid, str) or not sid:
        raise InvalidTokenError("invalid or expired token")
    try:
        return ContactSession(verified.subject, UUID(str(vid)) if vid else None, sid)
    except ValueError as e:
        raise InvalidTokenError("invalid or expired token") from e


def verify_contact_token(token_key: bytes | None, token: str) -> UUID:
    """The contact id of a valid contact session token, else `InvalidTokenError`."""
    return _verify(token_key, CONTACT_AUDIENCE, token).subject


def issue_console_token(
    token_key: bytes | None,
    user_id: UUID,
    *,
    credential_version: int = 0,
    session_id: str | None = None,
    ttl: timedelta = CONSOLE_TOKEN_TTL,
) -> str:
    """The staff console's session cookie: its own audience, so it never passes as a bearer token.

    It carries the session's id (`sid`): new at login, the same in every renewal, so logging out
    can end the session wherever a copy of the cookie is; and the credential version (`cv`)
    like a staff token."""
    sid = session_id or secrets.token_urlsafe(16)
    return _issue(token_key, CONSOLE_AUDIENCE, user_id, ttl, {"sid": sid, "cv": credential_version})


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    user_id: UUID
    issued_at: datetime
    session_id: str
    credential_version: int | None


def verify_console_token(token_key: bytes | None, token: str) -> ConsoleSession:
    """The user, issue time and session id of a valid console session, else `InvalidTokenError`."""
    verified = _verify(token_key, CONSOLE_AUDIENCE, token)
    sid = (verified.extras or {}).get("sid")
    if not isinstance(sid, str) or not sid:
        raise InvalidTokenError("invalid or expired token")
    return ConsoleSession(verified.subject, verified.issued_at, sid, verified.credential_version)
