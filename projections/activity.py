"""Read model for analytics: consent and verification events counted per day (UTC).

Counts hold no personal data, so they stay when a contact is erased: the totals of the past
remain true.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from adapters.postgres.pool import Connection
from ledger.consent import Consent
from ledger.verification import Verification
from projections.projection import Envelope

_CONSENT: dict[type[Any], str] = {
    Consent.Requested: "requested",
    Consent.Granted: "granted",
    Consent.Withdrawn: "withdrawn",
}
_CODES: dict[type[Any], str] = {
    Verification.Created: "issued",
    Verification.Confirmed: "confirmed",
    Verification.Failed: "failed",
    Verification.Locked: "locked",
    Verification.Expired: "expired",
}


class ActivityProjection:
    name = "activity"
    tables: tuple[str, ...] = ("consent_daily", "verification_daily")
    topics: frozenset[str] = frozenset(c.TOPIC for c in (*_CONSENT, *_CODES))

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        consent: Counter[tuple[date, UUID, str, str]] = Counter()
        codes: Counter[tuple[date, str, str]] = Counter()
        channels: dict[UUID, str] = {}
        for envelope in batch:
            event, day = envelope.event, envelope.recorded_at.date()
            if type(event) in _CONSENT:
                consent[(day, event.optin_id, event.channel, _CONSENT[type(event)])] += 1
            else:
                if isinstance(event, Verification.Created):
                    channels[event.originator_id] = event.channel
                channel = channels.get(event.originator_id) or await _channel_of(conn, event.originator_id)
                codes[(day, channel, _CODES[type(event)])] += 1
        for (day, optin, channel, kind), n in consent.items():
            await conn.execute(
                f"INSERT INTO consent_daily (day, optin_id, channel, {kind}) VALUES ($1, $2, $3, $4) "  # noqa: S608
                f"ON CONFLICT (day, optin_id, channel) DO UPDATE SET {kind} = consent_daily.{kind} + $4",
                day,
                optin,
                channel,
                n,
            )
        for (day, channel, kind), n in codes.items():
            await conn.execute(
                f"INSERT INTO verification_daily (day, channel, {kind}) VALUES ($1, $2, $3) "  # noqa: S608
                f"ON CONFLICT (day, channel) DO UPDATE SET {kind} = verification_daily.{kind} + $3",
                day,
                channel,
                n,
            )


async def _channel_of(conn: Connection, verification_id: UUID) -> str:
    # The verifications read model may lag this one; the ledger itself always knows.
    state = await conn.fetchval(
        "SELECT state FROM events WHERE originator_id = $1 AND originator_version = 1", verification_id
    )
    channel: str = msgspec.json.decode(state)["channel"] if state else "unknown"
    return channel


class DayRow(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    optin_id: UUID
    program: str
    channel: str
    requested: int
    granted: int
    withdrawn: int
    opt_in_rate: float | None
    opt_out_rate: float | None


class Analytics(msgspec.Struct, frozen=True, kw_only=True):
    days: list[DayRow]
    verification: dict[str, Any]
    pending_older_than: dict[str, Any]


async def analytics(
    conn: asyncpg.Pool | Connection, since: date, until: date, stale_before: datetime
) -> Analytics:
    """Per-day consent counts and rates by program and channel; code success; stale requests."""
    rows = await conn.fetch(
        "SELECT d.day, d.optin_id, coalesce(o.name, '(unknown)') AS program, d.channel, d.requested, "
        "d.granted, d.withdrawn FROM consent_daily d LEFT JOIN optins o ON o.id = d.optin_id "
        "WHERE d.day BETWEEN $1 AND $2 ORDER BY d.day, program, d.channel",
        since,
        until,
    )
    summary = await conn.fetchrow(
        "SELECT coalesce(sum(issued), 0) AS issued, coalesce(sum(confirmed), 0) AS confirmed, "
        "coalesce(sum(locked), 0) AS locked, coalesce(sum(expired), 0) AS expired, "
        "(SELECT count(*) FROM consent_state WHERE status = 'pending' AND since < $3) AS stale_pending "
        "FROM verification_daily WHERE day BETWEEN $1 AND $2",
        since,
        until,
        stale_before,
    )
    assert summary is not None
    days = [
        DayRow(
            **dict(r),
            opt_in_rate=round(r["granted"] / r["requested"], 4) if r["requested"] else None,
            opt_out_rate=round(r["withdrawn"] / (r["granted"] + r["withdrawn"]), 4)
            if r["granted"] + r["withdrawn"]
            else None,
        )
        for r in rows
    ]
    issued = int(summary["issued"])
    return Analytics(
        days=days,
        verification={
            "issued": issued,
            "confirmed": int(summary["confirmed"]),
            "locked": int(summary["locked"]),
            "expired": int(summary["expired"]),
            "success_rate": round(int(summary["confirmed"]) / issued, 4) if issued else None,
        },
        pending_older_than={"before": stale_before, "count": int(summary["stale_pending"])},
    )


class CodeDay(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    issued: int
    confirmed: int
    locked: int
    expired: int


async def codes_per_day(conn: asyncpg.Pool | Connection, since: date, until: date) -> list[CodeDay]:
    """Codes issued, confirmed, locked and expired per day, all channels (the dashboard's chart)."""
    rows = await conn.fetch(
        "SELECT day, sum(issued) AS issued, sum(confirmed) AS confirmed, sum(locked) AS locked, "
        "sum(expired) AS expired FROM verification_daily WHERE day BETWEEN $1 AND $2 "
        "GROUP BY day ORDER BY day",
        since,
        until,
    )
    return [
        CodeDay(
            day=r["day"],
            issued=int(r["issued"]),
            confirmed=int(r["confirmed"]),
            locked=int(r["locked"]),
            expired=int(r["expired"]),
        )
        for r in rows
    ]
