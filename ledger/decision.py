"""The one consent decision: may this contact be messaged about this program on this channel?

Everything that answers that question calls `decide`: the read model (which keeps the folded
facts and decides on every read), `as_of` (which folds the events up to an instant), the bulk
check, the send policy, the contact pages and the console. Nothing else decides.

The events that bear on one (contact, program, channel):

- the consent stream's `consent.requested`, `consent.granted`, `consent.withdrawn`,
  `consent.lapsed` (what the contact asked for, with its evidence);
- the channel-wide `channel.opted_out` and `channel.resubscribed` (SMS STOP and START, "unsubscribe
  from all email", a provider's "recipient unsubscribed");
- `optin.archived` (the program has ended);
- `contact.erased`.

The rule, in order:

1. an erased contact has no consent: `unknown`, decided by `contact.erased`;
2. an archived program holds no consent: `unknown`, decided by `optin.archived`;
3. a channel-wide opt-out in force overrides the program's consent, unless the contact opted in
   to this program after it: `opted_out`, decided by `channel.opted_out`;
4. otherwise the consent stream's own status: `unknown` until asked; `pending` while a request
   waits for the contact's code and nothing was decided before; `opted_in` or `opted_out` as
   last granted or withdrawn, decided by the latest grant or withdrawal (a repeated opt-in
   renews it: that is how an opt-in comes "after" a channel-wide opt-out). A request that ends
   without a decision (its code expired or was locked) leaves the status as it was before it.

Pure: no I/O and no clock. The instant asked about is an argument.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple, cast
from uuid import UUID

from ledger.channel_optout import ChannelOptOut, channel_optout_id
from ledger.consent import Consent, ConsentStep, consent_id, consent_step
from ledger.contact import Contact
from ledger.program import Program
from ledger.vocabulary import Channel, ConsentStatus

__all__ = [
    "BEARING_TOPICS",
    "ConsentDecision",
    "ConsentFacts",
    "Mark",
    "bearing_streams",
    "decide",
    "decide_at",
    "decide_flat",
    "fold",
]


class Mark(NamedTuple):
    """Where an event that bears on the decision sits: its ledger position and time."""

    position: int
    at: datetime


class ConsentFacts(NamedTuple):
    """Everything the decision needs, folded from the events (what the read model stores).

    `status`, `since`, `position` and `topic` are the consent stream's own state and the event
    that set it; `pending` the verification a request waits for; the marks are the channel-wide
    opt-out in force, the program's archival and the contact's erasure, if any.
    """

    status: ConsentStatus = "unknown"
    since: datetime | None = None
    position: int | None = None
    topic: str | None = None
    pending: UUID | None = None
    channel_out: Mark | None = None
    archived: Mark | None = None
    erased: Mark | None = None


class ConsentDecision(NamedTuple):
    """The consent in force, since when, and the ledger event that made it so."""

    status: ConsentStatus
    since: datetime | None = None
    position: int | None = None
    topic: str | None = None


UNKNOWN = ConsentDecision("unknown")

# A NamedTuple's own constructor is a Python function; `tuple.__new__` builds the same tuple in C
# at about half the cost, which a bulk check of a thousand rows (`decide_flat`) notices.
_decision = cast("Callable[[type[ConsentDecision], tuple[Any, ...]], ConsentDecision]", tuple.__new__)

_CHANNEL_OUT = ChannelOptOut.OptedOut.TOPIC
_ARCHIVED = Program.Archived.TOPIC
_ERASED = Contact.Erased.TOPIC

BEARING_TOPICS: frozenset[str] = frozenset(
    {
        Consent.Requested.TOPIC,
        Consent.Granted.TOPIC,
        Consent.Withdrawn.TOPIC,
        Consent.Lapsed.TOPIC,
        _CHANNEL_OUT,
        ChannelOptOut.Resubscribed.TOPIC,
        _ARCHIVED,
        _ERASED,
    }
)
"""The topics of every event `fold` takes into account (others leave the facts unchanged)."""


def decide(facts: ConsentFacts) -> ConsentDecision:
    """The decision the facts lead to (the rule in the module docstring)."""
    out, archived, erased = facts.channel_out, facts.archived, facts.erased
    return decide_flat(
        facts.status,
        facts.since,
        facts.position,
        facts.topic,
        *((None, None) if out is None else out),
        *((None, None) if archived is None else archived),
        *((None, None) if erased is None else erased),
    )


def decide_flat(
    status: ConsentStatus | None,
    since: datetime | None,
    position: int | None,
    topic: str | None,
    out_position: int | None,
    out_at: datetime | None,
    archived_position: int | None,
    archived_at: datetime | None,
    erased_position: int | None,
    erased_at: datetime | None,
) -> ConsentDecision:
    """`decide` on facts given as columns (each mark its position and time, both None when
    absent; no status at all is "unknown"), the rule itself: a bulk check decides a thousand rows
    without building their facts."""
    if erased_position is not None:
        return _decision(ConsentDecision, ("unknown", erased_at, erased_position, _ERASED))
    if archived_position is not None:
        return _decision(ConsentDecision, ("unknown", archived_at, archived_position, _ARCHIVED))
    if out_position is not None and not (status == "opted_in" and (position or 0) > out_position):
        return _decision(ConsentDecision, ("opted_out", out_at, out_position, _CHANNEL_OUT))
    return _decision(ConsentDecision, (status or "unknown", since, position, topic))


def fold(facts: ConsentFacts, position: int, at: datetime, event: object) -> ConsentFacts:
    """The facts after one more event that bears on them (in ledger order)."""
    match event:
        case Consent.Requested() | Consent.Granted() | Consent.Withdrawn() | Consent.Lapsed():
            step = consent_step(ConsentStep(facts.status, facts.pending), event)
            if step.status != facts.status or isinstance(event, Consent.Granted | Consent.Withdrawn):
                facts = facts._replace(status=step.status, since=at, position=position, topic=event.TOPIC)
            return facts._replace(pending=step.pending)
        case ChannelOptOut.OptedOut():
            return facts._replace(channel_out=Mark(position, at))
        case ChannelOptOut.Resubscribed():
            return facts._replace(channel_out=None)
        case Program.Archived():
            return facts._replace(archived=Mark(position, at))
        case Contact.Erased():
            return facts._replace(erased=Mark(position, at))
    return facts


def decide_at(history: Iterable[tuple[int, datetime, object]], at: datetime | None = None) -> ConsentDecision:
    """Fold `(position, recorded_at, event)` triples recorded up to `at` (all when None), then decide.

    `history` may hold the events of several streams (consent, channel opt-out, program,
    contact); they are taken in ledger order.
    """
    facts = ConsentFacts()
    for position, recorded_at, event in sorted(history, key=lambda h: h[0]):
        if at is None or recorded_at <= at:
            facts = fold(facts, position, recorded_at, event)
    return decide(facts)


def bearing_streams(contact_id: UUID, optin_id: UUID | None, channel: Channel) -> list[UUID]:
    """The streams whose events bear on (contact, program, channel): consent, channel opt-out,
    program, contact. Without a program, only the channel and the contact bear (codes, replies)."""
    streams = [channel_optout_id(contact_id, channel), contact_id]
    if optin_id is not None:
        streams += [consent_id(contact_id, optin_id, channel), optin_id]
    return streams
