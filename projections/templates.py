"""Read model of message templates: the current text and version of each, for lists and editing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from adapters.postgres.pool import Connection
from ledger.template import Template
from projections.projection import Envelope

_COLUMNS = (
    "id, name, kind, channel, optin_id, subject, body, version, is_default, archived, created_at, updated_at"
)


class TemplatesProjection:
    name = "templates"
    tables: tuple[str, ...] = ("templates",)
    topics: frozenset[str] = frozenset(
        c.TOPIC for c in (Template.Created, Template.Revised, Template.Renamed, Template.Archived)
    )

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        for envelope in batch:
            event, at, position = envelope.event, envelope.recorded_at, envelope.position
            if isinstance(event, Template.Created):
                await conn.execute(
                    f"INSERT INTO templates ({_COLUMNS}, position) "  # noqa: S608 (constant columns)
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, false, $9, $9, $10) "
                    "ON CONFLICT (id) DO NOTHING",
                    event.originator_id, event.name, event.kind, event.channel, event.optin_id,
                    event.subject, event.body, event.is_default, at, position,
                )  # fmt: skip
            elif isinstance(event, Template.Revised):
                await conn.execute(
                    "UPDATE templates SET subject = $2, body = $3, version = $4, updated_at = $5, "
                    "position = $6 WHERE id = $1",
                    event.originator_id, event.subject, event.body, event.version, at, position,
                )  # fmt: skip
            elif isinstance(event, Template.Renamed):
                await conn.execute(
                    "UPDATE templates SET name = $2, updated_at = $3, position = $4 WHERE id = $1",
                    event.originator_id, event.name, at, position,
                )  # fmt: skip
            else:
                await conn.execute(
                    "UPDATE templates SET archived = true, updated_at = $2, position = $3 WHERE id = $1",
                    event.originator_id, at, position,
                )  # fmt: skip


class TemplateRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    kind: str
    channel: str
    optin_id: UUID | None
    subject: str | None
    body: str
    version: int
    is_default: bool
    archived: bool
    created_at: datetime
    updated_at: datetime


async def list_templates(
    conn: asyncpg.Pool | Connection,
    *,
    kind: str | None = None,
    channel: str | None = None,
    optin_id: UUID | None = None,
    include_archived: bool = False,
) -> list[TemplateRow]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM templates "  # noqa: S608 (constant columns)
        "WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR channel = $2) "
        "AND ($3::uuid IS NULL OR optin_id = $3) AND ($4 OR NOT archived) "
        "ORDER BY is_default DESC, kind, channel, created_at, id",
        kind,
        channel,
        optin_id,
        include_archived,
    )
    return [TemplateRow(**dict(r)) for r in rows]


async def get_template(conn: asyncpg.Pool | Connection, template_id: UUID) -> TemplateRow | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM templates WHERE id = $1", template_id)  # noqa: S608
    return TemplateRow(**dict(row)) if row else None
