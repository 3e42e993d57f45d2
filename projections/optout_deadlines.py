"""Opt-out deadlines and the messages that broke one (which must never happen).

Every opt-out (a program's `consent.withdrawn`, a channel-wide `channel.opted_out`) gets the time
by which no message may follow it (`ledger.optout_deadline`). Every `message.sent` is checked
against the consent decision at the instant it was sent, folded from the ledger by
`ledger.decision` and judged by the send policy's own `still_allowed`: a message the policy would
have refused because of an opt-out, sent after that opt-out's due time, is a violation. It is
logged as an error at once, kept here, shown on the dashboard and counted by the alert metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog

from adapters.postgres.pool import Connection
from ledger.channel_optout import ChannelOptOut
from ledger.codec import LedgerMapper
from ledger.consent import Consent
from ledger.contact import Contact
from ledger.decision import bearing_streams, decide_at
from ledger.message import Message
from ledger.optout_deadline import DeadlinePolicy
from ledger.send_policy import still_allowed
from projections.ledger_reads import history
from projections.projection import Envelope

log = structlog.get_logger(__name__)
_OPT_OUT_REASONS = frozenset({"opted_out", "channel_opted_out"})


class OptOutDeadlinesProjection:
    name = "optout_deadlines"
    tables: tuple[str, ...] = ("optout_deadlines", "optout_violations")
    topics: frozenset[str] = frozenset(
        c.TOPIC for c in (Consent.Withdrawn, ChannelOptOut.OptedOut, Message.Sent, Contact.Erased)
    )

    def __init__(self, policy: DeadlinePolicy | None = None, mapper: LedgerMapper | None = None) -> None:
        self.policy = policy or DeadlinePolicy()
        self.mapper = mapper or LedgerMapper()

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        for envelope in batch:
            event = envelope.event
            if isinstance(event, Consent.Withdrawn | ChannelOptOut.OptedOut):
                optin_id = event.optin_id if isinstance(event, Consent.Withdrawn) else None
                await conn.execute(
                    "INSERT INTO optout_deadlines VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    envelope.position, event.contact_id, optin_id, event.channel, envelope.topic,
                    envelope.recorded_at, self.policy.due(event.channel, envelope.recorded_at),
                )  # fmt: skip
            elif isinstance(event, Message.Sent):
                await self._check(conn, envelope)
            elif isinstance(event, Contact.Erased):
                await conn.execute("DELETE FROM optout_deadlines WHERE contact_id = $1", event.originator_id)

    async def _check(self, conn: Connection, envelope: Envelope) -> None:
        sent: Any = envelope.event
        message = _replay(await history(conn, self.mapper, [sent.originator_id], envelope.position))
        if message is None or message.basis is None:
            return
        streams = bearing_streams(message.contact_id, message.optin_id, message.channel)
        decision = decide_at(await history(conn, self.mapper, streams, envelope.position), sent.at)
        refusal = still_allowed(message.purpose, message.channel, message.basis, decision)
        if refusal is None or refusal.reason not in _OPT_OUT_REASONS or decision.since is None:
            return
        due = self.policy.due(message.channel, decision.since)
        if sent.at <= due:
            return  # within the time the deployment allows itself (zero by default)
        await conn.execute(
            "INSERT INTO optout_violations VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            "ON CONFLICT DO NOTHING",
            message.id, message.contact_id, message.optin_id, message.channel, refusal.reason,
            decision.position, due, sent.at, envelope.position,
        )  # fmt: skip
        log.error(
            "message sent after an opt-out",
            message_id=str(message.id),
            optout_position=decision.position,
            due_at=due.isoformat(),
            sent_at=sent.at.isoformat(),
        )


def _replay(events: list[tuple[int, datetime, object]]) -> Message | None:
    message: Any = None
    for _, _, event in sorted(events, key=lambda e: e[0]):
        message = event.mutate(message)  # type: ignore[attr-defined]
    return message if isinstance(message, Message) else None


async def figures(conn: Any, now: datetime) -> dict[str, int]:
    """The dashboard's and the alert metric's numbers."""
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM optout_deadlines) AS optouts, "
        "(SELECT count(DISTINCT optout_position) FROM optout_violations) AS broken, "
        "(SELECT count(*) FROM optout_violations) AS sent_after_optout, "
        "(SELECT count(*) FROM revocation_reviews WHERE status = 'open') AS reviews_open, "
        "(SELECT count(*) FROM revocation_reviews WHERE status = 'open' AND due_at < $1) AS reviews_overdue",
        now,
    )
    return {
        "optouts": row["optouts"],
        "optouts_honoured": row["optouts"] - row["broken"],
        "reviews_open": row["reviews_open"],
        "reviews_overdue": row["reviews_overdue"],
        "sent_after_optout": row["sent_after_optout"],
    }


async def latest_violations(conn: Any, limit: int) -> list[Any]:
    """The most recent messages sent after an opt-out's due time (each a record)."""
    rows: list[Any] = await conn.fetch(
        "SELECT message_id, contact_id, optin_id, channel, reason, optout_position, due_at, sent_at "
        "FROM optout_violations ORDER BY position DESC LIMIT $1",
        limit,
    )
    return rows
