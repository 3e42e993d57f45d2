"""Read model for the dashboard: bounces and spam complaints per day (UTC), by program.

Counts hold no personal data, so they stay when a contact is erased: the totals of the past
remain true. A message of no program (a code) counts under the nil uuid.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from uuid import UUID

import asyncpg
import msgspec

from adapters.postgres.pool import Connection
from ledger.mailbox import Mailbox
from projections.projection import Envelope

NO_PROGRAM = UUID(int=0)
KINDS = ("hard_bounce", "soft_bounce", "complaint")


def _kind(event: object) -> str | None:
    if isinstance(event, Mailbox.Bounced):
        return f"{event.kind}_bounce"
    return "complaint" if isinstance(event, Mailbox.Complained) else None


class EmailFeedbackProjection:
    name = "email_feedback"
    tables: tuple[str, ...] = ("email_feedback_daily",)
    topics: frozenset[str] = frozenset({Mailbox.Bounced.TOPIC, Mailbox.Complained.TOPIC})

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        counts: Counter[tuple[date, UUID, str]] = Counter()
        for envelope in batch:
            kind = _kind(envelope.event)
            if kind is not None:
                counts[(envelope.recorded_at.date(), envelope.event.optin_id or NO_PROGRAM, kind)] += 1
        for (day, optin_id, kind), n in counts.items():
            assert kind in KINDS  # a column name, never input
            await conn.execute(
                f"INSERT INTO email_feedback_daily (day, optin_id, {kind}) VALUES ($1, $2, $3) "  # noqa: S608
                f"ON CONFLICT (day, optin_id) DO UPDATE SET {kind} = email_feedback_daily.{kind} + $3",
                day,
                optin_id,
                n,
            )


class FeedbackRow(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    optin_id: UUID | None
    program: str
    hard_bounce: int
    soft_bounce: int
    complaint: int


async def feedback_per_day(conn: asyncpg.Pool | Connection, since: date, until: date) -> list[FeedbackRow]:
    """Bounces and complaints per day and program between `since` and `until` (inclusive)."""
    rows = await conn.fetch(
        "SELECT d.day, d.optin_id, coalesce(o.name, CASE WHEN d.optin_id = $3 THEN '(no program)' "
        "ELSE '(unknown)' END) AS program, d.hard_bounce, d.soft_bounce, d.complaint "
        "FROM email_feedback_daily d LEFT JOIN optins o ON o.id = d.optin_id "
        "WHERE d.day BETWEEN $1 AND $2 ORDER BY d.day, program",
        since,
        until,
        NO_PROGRAM,
    )
    return [
        FeedbackRow(
            day=r["day"],
            optin_id=None if r["optin_id"] == NO_PROGRAM else r["optin_id"],
            program=r["program"],
            hard_bounce=int(r["hard_bounce"]),
            soft_bounce=int(r["soft_bounce"]),
            complaint=int(r["complaint"]),
        )
        for r in rows
    ]
