"""Read model of messages: status, the consent they relied on, and each one's delivery timeline.

Only what staff may see is kept: the masked preview (personal values replaced by `[name]`), never
the sealed body or variables. A contact's messages go when the contact is erased.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from adapters.postgres.pool import Connection
from ledger.contact import Contact
from ledger.message import Message
from ledger.send_failure import summary
from projections.projection import Envelope
from projections.timeline import details

_EVENTS = (
    Message.Created, Message.Queued, Message.Blocked, Message.Diverted, Message.Sent, Message.Failed,
    Message.DeadLettered, Message.Cancelled, Message.Delivered, Message.Undelivered, Message.Held,
)  # fmt: skip
_STATUS = {
    Message.Queued: "queued", Message.Blocked: "blocked", Message.Diverted: "diverted",
    Message.Sent: "sent", Message.Failed: "retrying", Message.DeadLettered: "dead_lettered",
    Message.Cancelled: "cancelled", Message.Delivered: "delivered", Message.Undelivered: "undelivered",
    Message.Held: "held",
}  # fmt: skip
_INSERT = (
    "INSERT INTO messages (id, contact_id, channel, kind, purpose, optin_id, status, idempotency_key, "
    "actor, requested_at, updated_at, position, seq) "
    "VALUES ($1, $2, $3, $4, $5, $6, 'requested', $7, $8::jsonb, $9, $9, $10, $10) "
    "ON CONFLICT (id) DO NOTHING"
)


def _changes(event: Any) -> dict[str, Any]:
    """Columns an event sets besides status (names are constants: safe to put in SQL)."""
    if isinstance(event, Message.Queued):
        return {
            "template_id": event.template_id,
            "template_version": event.template_version,
            "basis": msgspec.json.encode(event.basis).decode(),
            "preview": event.preview,
            "sms": msgspec.json.encode(event.sms).decode() if event.sms else None,
            "verification_id": event.basis.verification_id,
        }
    if isinstance(event, Message.Blocked | Message.Cancelled):
        return {"reason": event.reason}
    if isinstance(event, Message.Diverted):
        return {"verification_id": event.verification_id}
    if isinstance(event, Message.Sent):
        return {"attempts": event.attempt, "provider_id": event.provider_id, "reason": None}
    if isinstance(event, Message.Failed):
        return {"attempts": event.attempt, "reason": summary(event.category, event.code, event.legacy_error)}
    if isinstance(event, Message.DeadLettered):
        return {"attempts": event.attempts, "reason": summary(event.category, event.code, event.legacy_error)}
    if isinstance(event, Message.Held):
        return {"reason": f"{event.reason}: held until {event.until.isoformat()}"}
    if isinstance(event, Message.Undelivered):
        return {"reason": event.error_code or event.provider_status}
    return {}


class MessagesProjection:
    name = "messages"
    tables: tuple[str, ...] = ("messages", "message_events")
    topics: frozenset[str] = frozenset({*(c.TOPIC for c in _EVENTS), Contact.Erased.TOPIC})

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        # A batch's rows go in together (one pipelined round trip a kind), before an erasure
        # deletes the contact's and at the end; nothing else in a batch reads them.
        changes = _Changes()
        for envelope in batch:
            event, at, position = envelope.event, envelope.recorded_at, envelope.position
            if isinstance(event, Contact.Erased):
                await changes.write(conn)
                await conn.execute(
                    "DELETE FROM message_events WHERE message_id IN "
                    "(SELECT id FROM messages WHERE contact_id = $1)",
                    event.originator_id,
                )
                await conn.execute("DELETE FROM messages WHERE contact_id = $1", event.originator_id)
                continue
            if isinstance(event, Message.Created):
                changes.created.append((
                    event.originator_id, event.contact_id, event.channel, event.kind, event.purpose,
                    event.optin_id, event.idempotency_key, msgspec.json.encode(event.actor).decode(), at,
                    position,
                ))  # fmt: skip
            else:
                update = {
                    "updated_at": at,
                    "position": position,
                    "status": _STATUS[type(event)],
                    **_changes(event),
                }
                changes.updated.setdefault(event.originator_id, {}).update(update)
            shown = {k: v for k, v in details(event).items() if k not in ("sealed", "preview", "contact_id")}
            changes.timeline.append(
                (event.originator_id, position, envelope.topic, at, msgspec.json.encode(shown).decode())
            )
        await changes.write(conn)


class _Changes:
    """Messages created, the columns each message's later events set (the last value of each
    stands, as when they are applied one by one), and timeline rows, not yet written. Written
    in that order: a message's events all follow its creation."""

    def __init__(self) -> None:
        self.created: list[tuple[Any, ...]] = []
        self.updated: dict[UUID, dict[str, Any]] = {}
        self.timeline: list[tuple[UUID, int, str, datetime, str]] = []

    async def write(self, conn: Connection) -> None:
        if self.created:
            await conn.executemany(_INSERT, self.created)
        shapes: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for message_id, columns in self.updated.items():
            names = tuple(sorted(columns))
            shapes.setdefault(names, []).append((message_id, *(columns[n] for n in names)))
        for names, rows in shapes.items():
            await conn.executemany(_update(names), rows)
        if self.timeline:
            await conn.executemany(
                "INSERT INTO message_events VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT DO NOTHING",
                self.timeline,
            )
        self.created, self.updated, self.timeline = [], {}, []


@functools.cache
def _update(names: tuple[str, ...]) -> str:
    """The UPDATE setting `names` ($2 on) of message $1 (names are constants: safe in SQL)."""
    assignments = ", ".join(
        f"{name} = ${i}::jsonb" if name in ("basis", "sms") else f"{name} = ${i}"
        for i, name in enumerate(names, start=2)
    )
    return f"UPDATE messages SET {assignments} WHERE id = $1"  # noqa: S608


class MessageEvent(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    topic: str
    occurred_at: datetime
    details: dict[str, Any]


class MessageRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    contact_id: UUID
    channel: str
    kind: str
    purpose: str
    optin_id: UUID | None
    status: str
    reason: str | None
    template_id: UUID | None
    template_version: int | None
    basis: dict[str, Any] | None
    preview: str | None
    sms: dict[str, Any] | None
    attempts: int
    provider_id: str | None
    verification_id: UUID | None
    requested_at: datetime
    updated_at: datetime
    seq: int


_COLUMNS = (
    "id, contact_id, channel, kind, purpose, optin_id, status, reason, template_id, template_version, "
    "basis, preview, sms, attempts, provider_id, verification_id, requested_at, updated_at, seq"
)


def _row(record: asyncpg.Record) -> MessageRow:
    values = dict(record)
    for name in ("basis", "sms"):
        values[name] = msgspec.json.decode(values[name]) if values[name] else None
    return MessageRow(**values)


# Requested by any API key of the account that owns key $N (a service account reads its own).
_SENT_BY = (
    "actor->>'kind' = 'api_key' AND actor->>'id' IN (SELECT k.id::text FROM api_keys k "
    "WHERE k.user_id = (SELECT o.user_id FROM api_keys o WHERE o.id = ${n}))"
)


async def get_message(
    conn: asyncpg.Pool | Connection, message_id: UUID, *, sent_by_key: UUID | None = None
) -> MessageRow | None:
    """One message; with `sent_by_key`, only if that key's account requested it."""
    only_sent = f" AND {_SENT_BY.format(n=2)}" if sent_by_key else ""
    args = (message_id, sent_by_key) if sent_by_key else (message_id,)
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM messages WHERE id = $1{only_sent}", *args)  # noqa: S608
    return _row(row) if row else None


async def message_events(conn: asyncpg.Pool | Connection, message_id: UUID) -> list[MessageEvent]:
    rows = await conn.fetch(
        "SELECT position, topic, occurred_at, details FROM message_events WHERE message_id = $1 "
        "ORDER BY position",
        message_id,
    )
    return [
        MessageEvent(
            position=r["position"],
            topic=r["topic"],
            occurred_at=r["occurred_at"],
            details=msgspec.json.decode(r["details"]),
        )
        for r in rows
    ]


async def list_messages(
    conn: asyncpg.Pool | Connection,
    *,
    contact_id: UUID | None,
    optin_id: UUID | None,
    status: str | None,
    channel: str | None,
    before: int | None,
    limit: int,
    sent_by_key: UUID | None = None,
) -> list[MessageRow]:
    """Newest first; `before` is the keyset cursor (the `seq` of the last one seen); with
    `sent_by_key`, only the messages that key's account requested."""
    only_sent = f"AND {_SENT_BY.format(n=7)} " if sent_by_key else "AND $7::uuid IS NULL "
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM messages "  # noqa: S608 (constant columns)
        "WHERE ($1::uuid IS NULL OR contact_id = $1) AND ($2::uuid IS NULL OR optin_id = $2) "
        "AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR channel = $4) "
        f"AND ($5::bigint IS NULL OR seq < $5) {only_sent}ORDER BY seq DESC LIMIT $6",
        contact_id,
        optin_id,
        status,
        channel,
        before,
        limit,
        sent_by_key,
    )
    return [_row(r) for r in rows]


async def outcomes_per_day(conn: asyncpg.Pool | Connection, since: datetime) -> list[tuple[date, str, int]]:
    """(UTC day, topic, count) of messages sent, delivered, blocked or finally failed since `since`."""
    rows = await conn.fetch(
        "SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, topic, count(*) AS n FROM message_events "
        "WHERE occurred_at >= $1 AND topic IN ('message.sent', 'message.delivered', 'message.blocked', "
        "'message.dead_lettered', 'message.undelivered') GROUP BY 1, 2 ORDER BY 1, 2",
        since,
    )
    return [(r["day"], r["topic"], int(r["n"])) for r in rows]
