"""May this message go out now? The consent decision at send time, read from the ledger itself.

The decision is `ledger/decision.py`'s, folded from the events of the streams that bear on the
message (never a cache). What a message needs of it depends on its purpose: marketing (a
marketing program, a `promotional` or `optin_confirmation` message) needs `opted_in`;
transactional needs no consent, but is blocked by an opt-out of its program or of the channel
(SMS STOP). Nothing goes to an erased contact or about an archived program. The answer names the
ledger position and topic of the event it relied on. Queued messages that confirm what the
contact just did (keyword replies, codes, consent receipts) have rules of their own (`still_allowed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

import msgspec

from ledger.channel_optout import ChannelOptOut
from ledger.codec import LedgerMapper
from ledger.contact import Contact
from ledger.decision import ConsentDecision, bearing_streams, decide_at
from ledger.message import Basis, BlockReason
from ledger.ports import EventStore, RecordedEvent
from ledger.program import Program
from ledger.template import TemplateKind
from ledger.vocabulary import Channel, Purpose


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """Why a message may not go, and the ledger position of the event that says so."""

    reason: BlockReason
    position: int | None = None


_BY_TOPIC: dict[str | None, BlockReason] = {
    Contact.Erased.TOPIC: "contact_erased",
    Program.Archived.TOPIC: "program_archived",
    ChannelOptOut.OptedOut.TOPIC: "channel_opted_out",
}
_MARKETING: dict[str, BlockReason] = {"pending": "consent_pending", "unknown": "no_consent"}


def purpose_of(kind: TemplateKind, program_purpose: Purpose | None) -> Purpose:
    if kind in ("promotional", "optin_confirmation") or program_purpose == "marketing":
        return "marketing"
    return "transactional"


async def consent_now(
    store: EventStore,
    mapper: LedgerMapper,
    contact_id: UUID,
    optin_id: UUID | None,
    channel: Channel,
    at: datetime | None = None,
) -> ConsentDecision:
    """The decision for (contact, program, channel) at `at` (now: None), from the ledger's events
    (the streams that bear on it, read at once: one snapshot)."""
    read = await store.read_streams(bearing_streams(contact_id, optin_id, channel))
    return consent_in(read, mapper, contact_id, optin_id, channel, at)


def consent_in(
    read: Mapping[UUID, list[RecordedEvent]],
    mapper: LedgerMapper,
    contact_id: UUID,
    optin_id: UUID | None,
    channel: Channel,
    at: datetime | None = None,
) -> ConsentDecision:
    """`consent_now` folded from streams the caller read itself (every bearing stream among them)."""
    history = [
        (r.notification_id, r.recorded_at, mapper.to_domain_event(r.stored()))
        for stream in bearing_streams(contact_id, optin_id, channel)
        for r in read[stream]
    ]
    return decide_at(history, at)


def permit(purpose: Purpose, decision: ConsentDecision) -> Basis | Refusal:
    """The basis a message may go out on, or why it may not."""
    blocked = _BY_TOPIC.get(decision.topic)
    if blocked is not None:
        return Refusal(reason=blocked, position=decision.position)
    if decision.status == "opted_out":
        return Refusal(reason="opted_out", position=decision.position)
    if purpose == "marketing" and decision.status != "opted_in":
        return Refusal(reason=_MARKETING[decision.status], position=decision.position)
    return Basis(
        rule="marketing_consent" if purpose == "marketing" else "transactional",
        consent_position=decision.position,
        consent_topic=decision.topic,
    )


def still_allowed(
    purpose: Purpose, channel: Channel, basis: Basis, decision: ConsentDecision
) -> Refusal | None:
    """Re-checked just before a queued message leaves: None if it may still go."""
    if basis.rule == "keyword_reply":
        return None  # the one reply a STOP, START or HELP gets is always allowed
    if basis.rule == "consent_receipt":
        # The receipt confirms that very change, so an opt-out does not stop it (one per consent
        # event: its id comes from the event's position). Never to an erased contact; never an
        # SMS after a STOP (carriers refuse it: a STOP's receipt rides in its one reply).
        reason = _BY_TOPIC.get(decision.topic)
        if reason == "contact_erased" or (reason == "channel_opted_out" and channel == "sms"):
            return Refusal(reason=reason, position=decision.position)
        return None
    if basis.rule == "verification":
        # Codes still go to an email address that unsubscribed from everything (a code is sent only
        # when asked for, and it is how the contact gets back in); SMS carriers refuse after STOP.
        reason = _BY_TOPIC.get(decision.topic)
        if reason == "channel_opted_out" and channel != "sms":
            return None
        return Refusal(reason=reason, position=decision.position) if reason else None
    answer = permit(purpose, decision)
    return answer if isinstance(answer, Refusal) else None
