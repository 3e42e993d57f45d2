"""Current consent of every contact in one program, for export: streamed, decided on read.

Each row is the consent read model's own decision (`consent_state.program_decisions`: the one
rule, `ledger.decision.decide`, on its facts), the contact's masked address, and how the
deciding event came about (`evidence_sources`: `imported` for a consent a sender imported, never
shown as verified). `sealed_addresses` gives what an admin's export opens with each contact's key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import NamedTuple
from uuid import UUID

import asyncpg

from ledger.codec import LedgerMapper
from ledger.contact import Contact
from ledger.decision import ConsentDecision
from projections.consent_state import program_decisions
from projections.evidence_sources import evidence_sources


class ExportRow(NamedTuple):
    contact_id: UUID
    channel: str
    masked_address: str
    decision: ConsentDecision
    source: str | None


async def consent_rows(
    pool: asyncpg.Pool, optin_id: UUID, chunk: int = 1000
) -> AsyncIterator[list[ExportRow]]:
    """Rows in chunks, from one snapshot of the read model (a repeatable-read transaction)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        async for decided in program_decisions(conn, optin_id, chunk):
            ids = [d.contact_id for d in decided]
            masked: dict[UUID, str] = {
                r[0]: r[1]
                for r in await conn.fetch(
                    "SELECT id, masked_address FROM contacts WHERE id = ANY($1::uuid[])", ids
                )
            }
            positions = [d.decision.position for d in decided if d.decision.position is not None]
            sources = await evidence_sources(conn, positions)
            yield [
                ExportRow(
                    d.contact_id,
                    d.channel,
                    masked.get(d.contact_id) or "",
                    d.decision,
                    sources.get(d.decision.position) if d.decision.position is not None else None,
                )
                for d in decided
                if d.contact_id in masked  # an erased contact has no address to show
            ]


async def sealed_addresses(pool: asyncpg.Pool, contact_ids: Sequence[UUID]) -> dict[UUID, bytes]:
    """Each contact's address as registered (sealed with the contact's own key)."""
    rows = await pool.fetch(
        "SELECT originator_id, state FROM events "
        "WHERE originator_id = ANY($1::uuid[]) AND originator_version = 1 AND topic = $2",
        list(contact_ids),
        Contact.Created.TOPIC,
    )
    mapper, found = LedgerMapper(), {}
    for r in rows:
        created = mapper.decode(Contact.Created.TOPIC, r["originator_id"], 1, r["state"])
        found[r["originator_id"]] = created.sealed_address  # type: ignore[attr-defined]
    return found
