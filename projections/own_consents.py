"""What a contact sees of their own consent: every live program on their channel, with its status."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from adapters.postgres.pool import Connection
from ledger.vocabulary import Channel, ConsentStatus
from projections import consent_state
from projections.programs import list_programs


class OwnConsent(msgspec.Struct, frozen=True, kw_only=True):
    optin_id: UUID
    name: str
    description: str
    purpose: str
    channel: Channel
    status: ConsentStatus
    since: datetime | None
    disclosure: str
    disclosure_version: int


async def own_consents(
    pool: asyncpg.Pool | Connection, contact_id: UUID, channel: Channel
) -> list[OwnConsent]:
    """The consent decision for every live program on the contact's channel."""
    mine = {c.optin_id: c.decision for c in await consent_state.decisions_of(pool, contact_id, channel)}
    programs = [p for p in await list_programs(pool, include_archived=False) if channel in p.channels]
    return [
        OwnConsent(
            optin_id=p.id,
            name=p.name,
            description=p.description,
            purpose=p.purpose,
            channel=channel,
            status=mine[p.id].status if p.id in mine else "unknown",
            since=mine[p.id].since if p.id in mine else None,
            disclosure=p.disclosure,
            disclosure_version=p.disclosure_version,
        )
        for p in programs
    ]
