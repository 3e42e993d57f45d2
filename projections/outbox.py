"""The outbox: what the worker still has to send, codes and messages alike, kept from the events.

A code joins when it is issued and leaves when it is confirmed, locked or expired; a message joins
when queued and leaves once sent, dead-lettered or cancelled; a failure moves its next attempt.
So a rebuild gives back exactly the unfinished work, never something already sent. Each batch
that adds work wakes the worker (`NOTIFY outbox`, delivered when the batch commits).
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.postgres.pool import Connection
from ledger.contact import Contact
from ledger.message import Message, code_message_id
from ledger.verification import Verification
from projections.projection import Envelope

_DONE = (Message.Sent, Message.DeadLettered, Message.Cancelled)
_CLOSED = (Verification.Confirmed, Verification.Locked, Verification.Expired)
_INSERT = (
    "INSERT INTO outbox (id, contact_id, channel, kind, verification_id, due_at, created_at, position) "
    "VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (id) DO NOTHING"
)


class OutboxProjection:
    name = "outbox"
    tables: tuple[str, ...] = ("outbox",)
    topics: frozenset[str] = frozenset(
        c.TOPIC
        for c in (Verification.Created, *_CLOSED, Message.Queued, Message.Failed, *_DONE, Contact.Erased)
    )

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        added = False
        for envelope in batch:
            event, at, position = envelope.event, envelope.recorded_at, envelope.position
            if isinstance(event, Verification.Created):
                message_id = code_message_id(event.originator_id)
                kind = "optin_invite" if event.action == "opt_in" and event.optin_id else "verification_code"
                await conn.execute(
                    _INSERT,
                    message_id,
                    event.contact_id,
                    event.channel,
                    kind,
                    event.originator_id,
                    at,
                    position,
                )
                added = True
            elif isinstance(event, _CLOSED):
                await conn.execute("DELETE FROM outbox WHERE verification_id = $1", event.originator_id)
            elif isinstance(event, Message.Queued):
                await conn.execute(
                    _INSERT, event.originator_id, event.contact_id, event.channel, event.kind,
                    event.basis.verification_id, at, position,
                )  # fmt: skip
                added = True
            elif isinstance(event, Message.Failed):
                await conn.execute(
                    "UPDATE outbox SET attempts = $2, due_at = $3, position = $4 WHERE id = $1",
                    event.originator_id,
                    event.attempt,
                    event.retry_at,
                    position,
                )
            elif isinstance(event, _DONE):
                await conn.execute("DELETE FROM outbox WHERE id = $1", event.originator_id)
            elif isinstance(event, Contact.Erased):
                await conn.execute("DELETE FROM outbox WHERE contact_id = $1", event.originator_id)
                await conn.execute("DELETE FROM dev_outbox WHERE contact_id = $1", event.originator_id)
        if added:
            await conn.execute("SELECT pg_notify('outbox', '')")
