"""Daily counts for the console dashboard, read from the timeline and verification read models.

Both models drop an erased contact's rows, so the counts are of contacts still on the books.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
import msgspec

from adapters.postgres.pool import Connection


class DailyConsent(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    topic: str  # consent.granted or consent.withdrawn
    optin_id: str
    channel: str
    count: int


class DailyVerifications(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    issued: int
    confirmed: int
    failed: int  # locked or expired: the code never proved the address


async def consent_changes(conn: asyncpg.Pool | Connection, since: datetime) -> list[DailyConsent]:
    """Opt-ins and opt-outs per UTC day, program and channel, since `since`."""
    rows = await conn.fetch(
        "SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, topic, details->>'optin_id' AS optin_id, "
        "details->>'channel' AS channel, count(*) AS count FROM contact_timeline "
        "WHERE topic IN ('consent.granted', 'consent.withdrawn') AND occurred_at >= $1 "
        "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        since,
    )
    return [DailyConsent(**dict(r)) for r in rows]


async def verification_outcomes(conn: asyncpg.Pool | Connection, since: datetime) -> list[DailyVerifications]:
    """Codes issued per UTC day, and how many of them were confirmed or failed."""
    rows = await conn.fetch(
        "SELECT (issued_at AT TIME ZONE 'UTC')::date AS day, count(*) AS issued, "
        "count(*) FILTER (WHERE status = 'confirmed') AS confirmed, "
        "count(*) FILTER (WHERE status IN ('locked', 'expired')) AS failed "
        "FROM verifications WHERE issued_at >= $1 GROUP BY 1 ORDER BY 1",
        since,
    )
    return [DailyVerifications(**dict(r)) for r in rows]
