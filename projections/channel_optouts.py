"""Read model: channel-wide opt-outs in force (SMS STOP, "unsubscribe from everything")."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.postgres.pool import Connection
from ledger.channel_optout import ChannelOptOut
from ledger.contact import Contact
from projections.projection import Envelope


class ChannelOptOutsProjection:
    name = "channel_optouts"
    tables: tuple[str, ...] = ("channel_optouts",)
    topics: frozenset[str] = frozenset(
        {ChannelOptOut.OptedOut.TOPIC, ChannelOptOut.Resubscribed.TOPIC, Contact.Erased.TOPIC}
    )

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        for envelope in batch:
            event = envelope.event
            if isinstance(event, ChannelOptOut.OptedOut):
                await conn.execute(
                    "INSERT INTO channel_optouts VALUES ($1, $2, $3, $4) ON CONFLICT (contact_id, channel) "
                    "DO UPDATE SET since = EXCLUDED.since, event_position = EXCLUDED.event_position",
                    event.contact_id,
                    event.channel,
                    envelope.recorded_at,
                    envelope.position,
                )
            elif isinstance(event, ChannelOptOut.Resubscribed):
                await conn.execute(
                    "DELETE FROM channel_optouts WHERE contact_id = $1 AND channel = $2",
                    event.contact_id,
                    event.channel,
                )
            else:
                await conn.execute("DELETE FROM channel_optouts WHERE contact_id = $1", event.originator_id)
