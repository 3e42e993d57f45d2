"""The staff user aggregate: who may work on the ledger, in which role, and what happened to the account.

Secrets never enter these events: the password hash lives in a mutable credentials table (an
immutable, exportable ledger is no place for something an attacker could crack offline), and the
email address appears only masked. An API key appears as its keyed hash, which cannot be reversed.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import InvalidCommandError, InvalidValueError, NotFoundError
from ledger.masking import mask_email
from ledger.vocabulary import Actor

UserRole = Literal["admin", "staff", "auditor", "service"]
USER_ROLES: tuple[UserRole, ...] = ("admin", "staff", "auditor", "service")

LoginFailure = Literal["wrong_password", "disabled", "no_password"]
"""Why a login with a known email was refused (never the password tried)."""

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


def normalise_staff_email(text: str) -> str:
    """A staff login name: trimmed, lower-case, one `@` and a dotted domain (no deliverability check)."""
    email = text.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InvalidValueError("email is not a valid address")
    return email


class User(Aggregate):
    """A staff account: a person (admin, staff, auditor) or an application (service)."""

    TOPIC = "user"

    class Created(Aggregate.Created):
        TOPIC = "user.created"
        email_masked: str
        role: UserRole
        actor: Actor

    class RoleChanged(Aggregate.Event):
        TOPIC = "user.role_changed"
        role: UserRole
        previous: UserRole
        actor: Actor

    class Disabled(Aggregate.Event):
        TOPIC = "user.disabled"
        actor: Actor

    class Reenabled(Aggregate.Event):
        TOPIC = "user.reenabled"
        actor: Actor

    class PasswordChanged(Aggregate.Event):
        TOPIC = "user.password_changed"
        actor: Actor

    class LoginFailed(Aggregate.Event):
        TOPIC = "user.login_failed"
        reason: LoginFailure
        actor: Actor

    class LoginBlocked(Aggregate.Event):
        TOPIC = "user.login_blocked"
        until: datetime
        actor: Actor

    class ApiKeyIssued(Aggregate.Event):
        TOPIC = "user.api_key_issued"
        key_id: UUID
        prefix: str
        key_hash: bytes
        actor: Actor

    class ApiKeyRevoked(Aggregate.Event):
        TOPIC = "user.api_key_revoked"
        key_id: UUID
        actor: Actor

    @event(Created)
    def __init__(self, *, email_masked: str, role: UserRole, actor: Actor) -> None:
        self.email_masked = email_masked
        self.role: UserRole = role
        self.disabled = False
        self.api_keys: dict[UUID, bool] = {}  # key id -> revoked

    def change_role(self, role: UserRole, actor: Actor) -> None:
        if role not in USER_ROLES:
            raise InvalidValueError(f"role must be one of {', '.join(USER_ROLES)}")
        if role != self.role:
            self._role_changed(role=role, previous=self.role, actor=actor)

    @event(RoleChanged)
    def _role_changed(self, role: UserRole, previous: UserRole, actor: Actor) -> None:
        self.role = role

    def disable(self, actor: Actor) -> None:
        if not self.disabled:
            self._disabled(actor=actor)

    @event(Disabled)
    def _disabled(self, actor: Actor) -> None:
        self.disabled = True

    def reenable(self, actor: Actor) -> None:
        if self.disabled:
            self._reenabled(actor=actor)

    @event(Reenabled)
    def _reenabled(self, actor: Actor) -> None:
        self.disabled = False

    @event(PasswordChanged)
    def record_password_change(self, actor: Actor) -> None:
        """The credentials store has the new hash; the ledger keeps the fact and who did it."""

    @event(LoginFailed)
    def record_login_failure(self, reason: LoginFailure, actor: Actor) -> None:
        """A refused login, for the audit trail; the throttle keeps the counts."""

    @event(LoginBlocked)
    def record_login_block(self, until: datetime, actor: Actor) -> None:
        """Too many failures from one client: its logins to this account are refused until
        `until` (other clients are not: nobody can lock an account for everyone)."""

    def issue_api_key(self, key_id: UUID, prefix: str, key_hash: bytes, actor: Actor) -> None:
        if self.role != "service":
            raise InvalidCommandError("API keys are for service accounts only")
        if self.disabled:
            raise InvalidCommandError("the account is disabled")
        if key_id in self.api_keys:
            raise InvalidCommandError("this key id is already in use")
        self._api_key_issued(key_id=key_id, prefix=prefix, key_hash=key_hash, actor=actor)

    @event(ApiKeyIssued)
    def _api_key_issued(self, key_id: UUID, prefix: str, key_hash: bytes, actor: Actor) -> None:
        self.api_keys[key_id] = False

    def revoke_api_key(self, key_id: UUID, actor: Actor) -> None:
        if key_id not in self.api_keys:
            raise NotFoundError(f"no API key {key_id} for this account")
        if not self.api_keys[key_id]:
            self._api_key_revoked(key_id=key_id, actor=actor)

    @event(ApiKeyRevoked)
    def _api_key_revoked(self, key_id: UUID, actor: Actor) -> None:
        self.api_keys[key_id] = True


CREDENTIAL_CHANGES: tuple[type[Aggregate.Event], ...] = (
    User.RoleChanged,
    User.Disabled,
    User.PasswordChanged,
)
"""Each of these bumps the account's credential version: a token carries the version it was
issued at, so every token issued before the change is refused (whatever the clock says)."""


def create_user(*, email: str, role: UserRole, actor: Actor) -> User:
    """A new account for a normalised `email` (see `normalise_staff_email`); only its mask is kept."""
    if role not in USER_ROLES:
        raise InvalidValueError(f"role must be one of {', '.join(USER_ROLES)}")
    return User(email_masked=mask_email(normalise_staff_email(email)), role=role, actor=actor)
