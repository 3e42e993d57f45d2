"""Current consent of every contact in one program, for export: streamed, decided on read.

Each row is the one consent decision (`ledger.decision.decide`, through the consent read model's
own fact columns), the contact's masked address, and how the deciding event came about: its
evidence's source, with `imported` for a consent a sender imported (never shown as verified).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from ledger.codec import LedgerMapper
from ledger.decision import ConsentDecision

# The read model's own fact columns and decision: the export decides exactly as every read does.
from projections.consent_state import _FACTS, _decided


class ExportRow(NamedTuple):
    contact_id: UUID
    channel: str
    masked_address: str
    decision: ConsentDecision
    source: str | None


async def consent_rows(
    pool: asyncpg.Pool, optin_id: UUID, chunk: int = 1000
) -> AsyncIterator[list[ExportRow]]:
    """Rows in chunks, read through a cursor (memory stays constant however large the program)."""
    mapper = LedgerMapper()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = await conn.cursor(_query(), optin_id)
        while rows := await cursor.fetch(chunk):
            decided = [(r, _decided(r, 3)) for r in rows]
            sources = await _sources(conn, mapper, [d.position for _, d in decided if d.position])
            yield [
                ExportRow(r[0], r[1], r[2], d, sources.get(d.position) if d.position else None)
                for r, d in decided
            ]


def _query() -> str:
    return (
        f"SELECT s.contact_id, s.channel, c.masked_address, {_FACTS} FROM consent_state s "  # noqa: S608
        "JOIN contacts c ON c.id = s.contact_id "
        "LEFT JOIN channel_optouts o ON o.contact_id = s.contact_id AND o.channel = s.channel "
        "LEFT JOIN program_archivals a ON a.optin_id = s.optin_id "
        "LEFT JOIN contact_erasures e ON e.contact_id = s.contact_id "
        "WHERE s.optin_id = $1 ORDER BY s.contact_id"
    )


async def _sources(conn: Any, mapper: LedgerMapper, positions: list[int]) -> dict[int, str]:
    """The evidence source of each deciding event (`imported` for imports)."""
    if not positions:
        return {}
    rows = await conn.fetch(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM events "
        "WHERE notification_id = ANY($1::bigint[])",
        positions,
    )
    found = {}
    for r in rows:
        event = mapper.decode(r["topic"], r["originator_id"], r["originator_version"], r["state"])
        source = getattr(getattr(event, "evidence", None), "source", None)
        if source is not None:
            found[r["notification_id"]] = "imported" if source == "import" else str(source)
    return found
