"""Read model: the consent in force per (contact, program, channel), and the event that set it.

This is what consent checks read: one primary-key row per check, or one join for a bulk check.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from adapters.postgres.pool import Connection
from ledger.consent import Consent
from ledger.contact import Contact
from projections.projection import Envelope

_EVENTS = (Consent.Requested, Consent.Granted, Consent.Withdrawn, Consent.Lapsed)
_STATUS = {Consent.Granted: "opted_in", Consent.Withdrawn: "opted_out"}


class ConsentStateProjection:
    name = "consent_state"
    tables: tuple[str, ...] = ("consent_state",)
    topics: frozenset[str] = frozenset({*(c.TOPIC for c in _EVENTS), Contact.Erased.TOPIC})

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        keys = {
            (e.event.contact_id, e.event.optin_id, e.event.channel)
            for e in batch
            if not isinstance(e.event, Contact.Erased)
        }
        rows: dict[tuple[UUID, UUID, str], list[Any]] = {}
        if keys:
            found = await conn.fetch(
                "SELECT s.* FROM consent_state s JOIN unnest($1::uuid[], $2::uuid[], $3::text[]) "
                "AS k(c, o, ch) ON (s.contact_id, s.optin_id, s.channel) = (k.c, k.o, k.ch)",
                *map(list, zip(*keys, strict=True)),
            )
            rows = {(r["contact_id"], r["optin_id"], r["channel"]): list(r.values()) for r in found}
        erased: set[UUID] = set()
        for envelope in batch:
            if isinstance(envelope.event, Contact.Erased):
                erased.add(envelope.event.originator_id)
                rows = {k: v for k, v in rows.items() if k[0] != envelope.event.originator_id}
                continue
            _fold(rows, envelope)
        if erased:
            await conn.execute("DELETE FROM consent_state WHERE contact_id = ANY($1)", list(erased))
        if rows:
            await conn.executemany(
                "INSERT INTO consent_state VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                "ON CONFLICT (contact_id, optin_id, channel) DO UPDATE SET status = EXCLUDED.status, "
                "since = EXCLUDED.since, event_position = EXCLUDED.event_position, "
                "event_topic = EXCLUDED.event_topic, pending_verification = "
                "EXCLUDED.pending_verification, position = EXCLUDED.position",
                list(rows.values()),
            )


def _fold(rows: dict[tuple[UUID, UUID, str], list[Any]], envelope: Envelope) -> None:
    """The same rules as the aggregate: a request makes `pending` only if nothing was decided."""
    event = envelope.event
    key = (event.contact_id, event.optin_id, event.channel)
    row = rows.get(key) or [*key, "unknown", envelope.recorded_at, envelope.position, event.TOPIC, None, 0]
    status, pending = row[3], row[7]
    if isinstance(event, Consent.Requested):
        pending = event.verification_id
        new_status = "pending" if status == "unknown" else status
    elif isinstance(event, Consent.Lapsed):
        new_status = "unknown" if status == "pending" and pending == event.verification_id else status
        pending = None if pending == event.verification_id else pending
    else:
        new_status, pending = _STATUS[type(event)], None
    if new_status != status:
        row[3:7] = [new_status, envelope.recorded_at, envelope.position, event.TOPIC]
    row[7], row[8] = pending, envelope.position
    rows[key] = row


# A channel-wide opt-out (SMS STOP, "unsubscribe from everything") overrides every program on
# that channel, except an opt-in given after it: what a sender may rely on, in one answer.
_OUT = (
    "o.event_position IS NOT NULL "
    "AND NOT coalesce(s.status = 'opted_in' AND s.event_position > o.event_position, false)"
)
_OVERLAID = (
    f"CASE WHEN {_OUT} THEN 'opted_out' ELSE coalesce(s.status, 'unknown') END AS status, "
    f"CASE WHEN {_OUT} THEN o.since ELSE s.since END AS since, "
    f"CASE WHEN {_OUT} THEN o.event_position ELSE s.event_position END AS event_position, "
    f"CASE WHEN {_OUT} THEN 'channel.opted_out' ELSE s.event_topic END AS event_topic"
)


class ConsentRow(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    since: datetime | None = None
    event_position: int | None = None
    event_topic: str | None = None


async def consent_of(
    conn: asyncpg.Pool | Connection, contact_id: UUID, optin_id: UUID, channel: str
) -> ConsentRow:
    row = await conn.fetchrow(
        f"SELECT {_OVERLAID} FROM (SELECT $1::uuid AS contact_id, $2::uuid AS optin_id, "  # noqa: S608
        "$3::text AS channel) q LEFT JOIN consent_state s USING (contact_id, optin_id, channel) "
        "LEFT JOIN channel_optouts o USING (contact_id, channel)",
        contact_id,
        optin_id,
        channel,
    )
    assert row is not None
    return ConsentRow(**dict(row))


async def consents_of(conn: asyncpg.Pool | Connection, contact_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT optin_id, channel, status, since FROM consent_state WHERE contact_id = $1",
        contact_id,
    )


async def check_many(
    conn: asyncpg.Pool | Connection,
    contact_ids: Sequence[UUID | None],
    indexes: Sequence[bytes | None],
    optin_ids: Sequence[UUID],
    channels: Sequence[str],
) -> list[asyncpg.Record]:
    """Statuses for many (contact or blind index, program, channel) rows, in order, one query."""
    return await conn.fetch(
        f"SELECT q.n, coalesce(q.contact_id, l.contact_id) AS contact_id, {_OVERLAID} "  # noqa: S608
        "FROM unnest($1::uuid[], $2::bytea[], $3::uuid[], $4::text[]) WITH ORDINALITY "
        "AS q(contact_id, blind_index, optin_id, channel, n) "
        "LEFT JOIN contact_lookup l ON q.contact_id IS NULL AND l.blind_index = q.blind_index "
        "LEFT JOIN consent_state s ON s.contact_id = coalesce(q.contact_id, l.contact_id) "
        "AND s.optin_id = q.optin_id AND s.channel = q.channel "
        "LEFT JOIN channel_optouts o ON o.contact_id = coalesce(q.contact_id, l.contact_id) "
        "AND o.channel = q.channel ORDER BY q.n",
        list(contact_ids),
        list(indexes),
        list(optin_ids),
        list(channels),
    )


async def pending_requests(conn: asyncpg.Pool | Connection, limit: int) -> list[asyncpg.Record]:
    """Requests still waiting for the contact's code, newest first, with the masked address."""
    return await conn.fetch(
        "SELECT s.contact_id, s.optin_id, s.channel, s.since, c.masked_address, o.name "
        "FROM consent_state s LEFT JOIN contacts c ON c.id = s.contact_id "
        "LEFT JOIN optins o ON o.id = s.optin_id WHERE s.status = 'pending' ORDER BY s.since DESC LIMIT $1",
        limit,
    )
