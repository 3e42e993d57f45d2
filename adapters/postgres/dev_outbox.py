"""The dev sender: with no SMTP host or SMS account, messages land in a table instead of a provider.

`optin-ledger outbox` shows them (and tests read codes from them). Bodies are sealed with the
contact's key like everything personal, so an erased contact's messages cannot be read either.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from adapters.postgres.pool import Connection
from ledger.ports import DataKeys, Outgoing, Sealer, SendError


class DevOutboxSender:
    """`ledger.application.dispatch.Sender` writing to `dev_outbox`; the message id makes a retry a no-op."""

    name = "dev-outbox"

    def __init__(self, pool: asyncpg.Pool, keys: DataKeys, sealer: Sealer) -> None:
        self._pool = pool
        self._keys = keys
        self._sealer = sealer

    async def send(self, outgoing: Outgoing) -> str:
        key = await self._keys.get(outgoing.contact_id)
        if key is None:
            raise SendError("the contact was erased", permanent=True, category="rejected")
        subject = self._sealer.seal(key, outgoing.subject) if outgoing.subject is not None else None
        await self._pool.execute(
            "INSERT INTO dev_outbox (id, contact_id, channel, kind, sealed_subject, sealed_body, unsubscribe)"
            " "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            outgoing.message_id,
            outgoing.contact_id,
            outgoing.channel,
            outgoing.kind,
            subject,
            self._sealer.seal(key, outgoing.text),
            outgoing.unsubscribe_url,
        )
        return f"dev-{outgoing.message_id}"


async def dev_messages(
    conn: asyncpg.Pool | Connection, contact_id: UUID | None = None, limit: int = 50
) -> list[asyncpg.Record]:
    """The newest messages the dev sender took, for one contact or all."""
    return await conn.fetch(
        "SELECT id, contact_id, channel, kind, sealed_subject, sealed_body, unsubscribe, created_at "
        "FROM dev_outbox WHERE $1::uuid IS NULL OR contact_id = $1 ORDER BY created_at DESC LIMIT $2",
        contact_id,
        limit,
    )
