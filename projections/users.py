"""Read model of staff users and their API keys: what authentication reads on every request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import datetime
from uuid import UUID

from adapters.postgres.pool import Connection
from ledger.user import CREDENTIAL_CHANGES, User
from projections.projection import Envelope

_USER_COLUMNS = (
    "id, email_masked, role, disabled, created_at, updated_at, password_changed_at, credential_version, "
    "version, position"
)
_UPSERT_USER = (
    f"INSERT INTO users ({_USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "  # noqa: S608
    "ON CONFLICT (id) DO UPDATE SET email_masked = EXCLUDED.email_masked, role = EXCLUDED.role, "
    "disabled = EXCLUDED.disabled, updated_at = EXCLUDED.updated_at, "
    "password_changed_at = EXCLUDED.password_changed_at, credential_version = EXCLUDED.credential_version, "
    "version = EXCLUDED.version, "
    "position = EXCLUDED.position"
)
_INSERT_KEY = (
    "INSERT INTO api_keys (id, user_id, prefix, hash, created_at, revoked_at, position) "
    "VALUES ($1, $2, $3, $4, $5, NULL, $6) ON CONFLICT (id) DO NOTHING"
)
_REVOKE_KEY = "UPDATE api_keys SET revoked_at = $2, position = $3 WHERE id = $1 AND revoked_at IS NULL"


@dataclass(slots=True)
class _Row:
    id: UUID
    email_masked: str
    role: str
    disabled: bool
    created_at: datetime
    updated_at: datetime
    password_changed_at: datetime | None
    credential_version: int
    version: int
    position: int


class UsersProjection:
    """Folds the account events of `user.*` into `users` and `api_keys` (login attempts are not kept)."""

    name = "users"
    tables: tuple[str, ...] = ("users", "api_keys")
    topics: frozenset[str] = frozenset(
        c.TOPIC
        for c in (
            User.Created,
            User.RoleChanged,
            User.Disabled,
            User.Reenabled,
            User.PasswordChanged,
            User.ApiKeyIssued,
            User.ApiKeyRevoked,
        )
    )

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        ids = list({e.event.originator_id for e in batch})
        rows = {
            r["id"]: _Row(**dict(r))
            for r in await conn.fetch(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ANY($1)", ids)  # noqa: S608
        }
        issued: list[tuple[UUID, UUID, str, bytes, datetime, int]] = []
        revoked: list[tuple[UUID, datetime, int]] = []
        for envelope in batch:
            event = envelope.event
            match event:
                case User.ApiKeyIssued():
                    key = (event.key_id, event.originator_id, event.prefix, event.key_hash)
                    issued.append((*key, event.timestamp, envelope.position))
                case User.ApiKeyRevoked():
                    revoked.append((event.key_id, event.timestamp, envelope.position))
            _fold(rows, envelope)
        await conn.executemany(_UPSERT_USER, [astuple(row) for row in rows.values()])
        # Keys are written after their users and revoked after they are issued, as in the ledger.
        if issued:
            await conn.executemany(_INSERT_KEY, issued)
        if revoked:
            await conn.executemany(_REVOKE_KEY, revoked)


def _fold(rows: dict[UUID, _Row], envelope: Envelope) -> None:
    event = envelope.event
    if isinstance(event, User.Created):
        rows[event.originator_id] = _Row(
            id=event.originator_id,
            email_masked=event.email_masked,
            role=event.role,
            disabled=False,
            created_at=event.timestamp,
            updated_at=event.timestamp,
            password_changed_at=None,
            credential_version=0,
            version=event.originator_version,
            position=envelope.position,
        )
        return
    row = rows[event.originator_id]
    match event:
        case User.RoleChanged():
            row.role = event.role
        case User.Disabled():
            row.disabled = True
        case User.Reenabled():
            row.disabled = False
        case User.PasswordChanged():
            row.password_changed_at = event.timestamp
    if isinstance(event, CREDENTIAL_CHANGES):
        row.credential_version += 1
    row.updated_at = event.timestamp
    row.version = event.originator_version
    row.position = envelope.position
