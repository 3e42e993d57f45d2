"""Read model of live contacts (address masked), and the erasure it carries out on `Erased`.

The masked address is computed here from the sealed one, with the contact's data key: nothing
derived from an address is ever put into the immutable ledger. On `contact.erased` the row goes,
and so do the data key and the lookup row (idempotent; the registry did it already, this makes
it certain even if that process died half way).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from adapters.crypto.data_keys import KeyWrapper, fetch_keys
from adapters.postgres.pool import Connection
from ledger.contact import Contact
from ledger.masking import mask_address
from ledger.ports import Sealer
from projections.projection import Envelope


class ContactsProjection:
    name = "contacts"
    tables: tuple[str, ...] = ("contacts",)

    def __init__(self, wrapper: KeyWrapper, sealer: Sealer, activity: frozenset[str]) -> None:
        """`activity`: topics of other events about a contact, which move its last activity."""
        self.wrapper = wrapper
        self.sealer = sealer
        self.topics: frozenset[str] = frozenset({Contact.Created.TOPIC, Contact.Erased.TOPIC}) | activity

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        registered = [e for e in batch if isinstance(e.event, Contact.Created)]
        keys = await fetch_keys(conn, self.wrapper, [e.event.originator_id for e in registered])
        rows: list[tuple[UUID, str, str, datetime, datetime, int]] = []
        active: dict[UUID, datetime] = {}
        for envelope in batch:
            event = envelope.event
            if isinstance(event, Contact.Created):
                address = self.sealer.open(keys.get(event.originator_id), event.sealed_address)
                if address is None:  # erased since (a rebuild): its `Erased` event follows
                    continue
                rows.append(
                    (
                        event.originator_id,
                        event.channel,
                        mask_address(address),
                        event.timestamp,
                        event.timestamp,
                        envelope.position,
                    )
                )
            elif isinstance(event, Contact.Erased):
                await _flush(conn, rows)
                rows = []
                await erase(conn, event.originator_id)
            else:
                active[event.contact_id] = envelope.recorded_at
        await _flush(conn, rows)
        if active:
            await conn.execute(
                "UPDATE contacts c SET last_activity_at = greatest(c.last_activity_at, a.at) "
                "FROM unnest($1::uuid[], $2::timestamptz[]) AS a(id, at) WHERE c.id = a.id",
                list(active),
                list(active.values()),
            )


async def _flush(conn: Connection, rows: list[tuple[UUID, str, str, datetime, datetime, int]]) -> None:
    if rows:
        await conn.executemany(
            "INSERT INTO contacts (id, channel, masked_address, created_at, last_activity_at, "
            "position) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
            rows,
        )


async def erase(conn: Connection, contact_id: UUID) -> None:
    """Purge a contact from this read model and shred its key and lookup row."""
    await conn.execute("DELETE FROM contacts WHERE id = $1", contact_id)
    await conn.execute("DELETE FROM contact_keys WHERE contact_id = $1", contact_id)
    await conn.execute("DELETE FROM contact_lookup WHERE contact_id = $1", contact_id)


class ContactRow(msgspec.Struct, frozen=True, kw_only=True):
    """A live contact as staff see it: the address masked."""

    id: UUID
    channel: str
    address: str
    created_at: datetime
    last_activity_at: datetime


_CONTACT_COLUMNS = "id, channel, masked_address AS address, created_at, last_activity_at"


async def get_contact(conn: asyncpg.Pool | Connection, contact_id: UUID) -> ContactRow | None:
    row = await conn.fetchrow(
        f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE id = $1",  # noqa: S608 (constant)
        contact_id,
    )
    return ContactRow(**dict(row)) if row else None


def page_cursor(row: ContactRow) -> str:
    """The opaque cursor naming `row` as the last of a page (its `list_contacts` keyset)."""
    return base64.urlsafe_b64encode(f"{row.created_at.isoformat()}|{row.id}".encode()).decode()


def cursor_key(cursor: str) -> tuple[datetime, UUID] | None:
    """The keyset a `page_cursor` names; None for text that is not one."""
    try:
        created, _, contact_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created), UUID(contact_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


async def list_contacts(
    conn: asyncpg.Pool | Connection,
    *,
    channel: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
    only: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[ContactRow]:
    """Contacts by creation time then id, filtered; `after` is the keyset cursor."""
    rows = await conn.fetch(
        f"SELECT {_CONTACT_COLUMNS} FROM contacts "  # noqa: S608 (constant)
        "WHERE ($1::text IS NULL OR channel = $1) "
        "AND ($2::timestamptz IS NULL OR created_at >= $2) "
        "AND ($3::timestamptz IS NULL OR created_at < $3) "
        "AND ($4::uuid IS NULL OR id = $4) "
        "AND ($5::timestamptz IS NULL OR (created_at, id) > ($5, $6::uuid)) "
        "ORDER BY created_at, id LIMIT $7",
        channel,
        created_after,
        created_before,
        only,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [ContactRow(**dict(r)) for r in rows]


async def idle_without_consent(conn: asyncpg.Pool | Connection, before: datetime, limit: int) -> list[UUID]:
    """Contacts inactive since `before` who hold no opt-in anywhere (retention candidates)."""
    rows = await conn.fetch(
        "SELECT c.id FROM contacts c WHERE c.last_activity_at < $1 AND NOT EXISTS ("
        "  SELECT FROM consent_state s WHERE s.contact_id = c.id AND s.status = 'opted_in') "
        "ORDER BY c.last_activity_at LIMIT $2",
        before,
        limit,
    )
    return [r["id"] for r in rows]
