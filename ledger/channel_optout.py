"""The channel-wide opt-out of one contact on one channel (SMS STOP, "unsubscribe from everything").

Carriers enforce STOP for the whole number: after it nothing may be sent, marketing or
transactional, until the contact replies START. The opt-out remembers which programs' consent it
withdrew, so START gives back exactly those and nothing the contact had left on their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.consent import Evidence
from ledger.vocabulary import Channel

_NAMESPACE = uuid.UUID("0c4a8e52-91d3-4b7f-a2e6-6368616e6e65")


def channel_optout_id(contact_id: UUID, channel: Channel) -> UUID:
    return uuid.uuid5(_NAMESPACE, f"/channel-optout/{contact_id}/{channel}")


class ChannelOptOut(Aggregate):
    TOPIC = "channel_optout"

    class Created(Aggregate.Created):
        TOPIC = "channel.opened"
        contact_id: UUID
        channel: Channel

    class OptedOut(Aggregate.Event):
        TOPIC = "channel.opted_out"
        contact_id: UUID
        channel: Channel
        withdrawn: tuple[UUID, ...]
        evidence: Evidence

    class Resubscribed(Aggregate.Event):
        TOPIC = "channel.resubscribed"
        contact_id: UUID
        channel: Channel
        evidence: Evidence

    @event(Created)
    def __init__(self, *, contact_id: UUID, channel: Channel) -> None:
        self.contact_id = contact_id
        self.channel: Channel = channel
        self.opted_out = False
        self.withdrawn: tuple[UUID, ...] = ()

    def opt_out(self, withdrawn: Sequence[UUID], evidence: Evidence) -> None:
        if not self.opted_out:
            self._opted_out(self.contact_id, self.channel, tuple(withdrawn), evidence)

    @event(OptedOut)
    def _opted_out(
        self, contact_id: UUID, channel: Channel, withdrawn: tuple[UUID, ...], evidence: Evidence
    ) -> None:
        self.opted_out, self.withdrawn = True, withdrawn

    def resubscribe(self, evidence: Evidence) -> None:
        if self.opted_out:
            self._resubscribed(contact_id=self.contact_id, channel=self.channel, evidence=evidence)

    @event(Resubscribed)
    def _resubscribed(self, contact_id: UUID, channel: Channel, evidence: Evidence) -> None:
        self.opted_out, self.withdrawn = False, ()


def open_channel_optout(contact_id: UUID, channel: Channel) -> ChannelOptOut:
    return ChannelOptOut._create(
        ChannelOptOut.Created,
        id=channel_optout_id(contact_id, channel),
        contact_id=contact_id,
        channel=channel,
    )
