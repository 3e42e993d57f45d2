"""A refused code request, recorded: SMS pumping and floods leave a trail, without personal data."""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from ledger.vocabulary import Channel


class CodeRefusal(Aggregate):
    """One refusal; `prefix` is the destination's country code and first digits, never a number."""

    TOPIC = "refusal"

    class Created(Aggregate.Created):
        TOPIC = "verification.refused"
        reason: str
        channel: Channel
        country: str | None
        prefix: str | None

    @event(Created)
    def __init__(self, *, reason: str, channel: Channel, country: str | None, prefix: str | None) -> None:
        self.reason = reason
