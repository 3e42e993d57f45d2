"""May this message go out now? Consent at send time, read from the ledger itself, never a cache.

Marketing (a marketing program, a `promotional` or `optin_confirmation` message) needs `opted_in`
for that program and channel, given after any channel-wide opt-out. Transactional messages need
no marketing consent, but an explicit opt-out of their program or a channel-wide opt-out (SMS
STOP) blocks them. The answer names the ledger position of the event it relied on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import msgspec

from ledger.channel_optout import OptOutState, channel_optout_id, optout_at
from ledger.codec import LedgerMapper
from ledger.consent import Decision, consent_id, decision_at
from ledger.message import Basis, BlockReason
from ledger.ports import EventStore
from ledger.template import TemplateKind
from ledger.vocabulary import Channel, Purpose

_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


class ConsentNow(msgspec.Struct, frozen=True, kw_only=True):
    consent: Decision
    optout: OptOutState


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    reason: BlockReason
    position: int | None = None


def purpose_of(kind: TemplateKind, program_purpose: Purpose | None) -> Purpose:
    if kind in ("promotional", "optin_confirmation") or program_purpose == "marketing":
        return "marketing"
    return "transactional"


async def consent_now(
    store: EventStore, mapper: LedgerMapper, contact_id: UUID, optin_id: UUID | None, channel: Channel
) -> ConsentNow:
    """The consent for (contact, program, channel) and the channel-wide opt-out, from their streams."""
    consent = Decision(status="unknown")
    if optin_id is not None:
        history = await _history(store, mapper, consent_id(contact_id, optin_id, channel))
        consent = decision_at(history, _END_OF_TIME)  # type: ignore[arg-type]
    optout = optout_at(await _history(store, mapper, channel_optout_id(contact_id, channel)))  # type: ignore[arg-type]
    return ConsentNow(consent=consent, optout=optout)


async def _history(
    store: EventStore, mapper: LedgerMapper, stream: UUID
) -> list[tuple[int, datetime, object]]:
    return [
        (r.notification_id, r.recorded_at, mapper.to_domain_event(r.stored()))
        for r in await store.read_stream_recorded(stream)
    ]


def decide(purpose: Purpose, now: ConsentNow) -> Basis | Refusal:
    """The basis a message may go out on, or why it may not."""
    consent, optout = now.consent, now.optout
    if purpose == "transactional":
        if optout.in_force:
            return Refusal(reason="channel_opted_out", position=optout.position)
        if consent.status == "opted_out":
            return Refusal(reason="opted_out", position=consent.position)
        return Basis(rule="transactional", consent_position=consent.position, consent_topic=consent.topic)
    if consent.status == "opted_in":
        given_after = optout.position is None or (consent.position or 0) > optout.position
        if optout.in_force and not given_after:
            return Refusal(reason="channel_opted_out", position=optout.position)
        return Basis(rule="marketing_consent", consent_position=consent.position, consent_topic=consent.topic)
    if optout.in_force:
        return Refusal(reason="channel_opted_out", position=optout.position)
    reasons: dict[str, BlockReason] = {"opted_out": "opted_out", "pending": "consent_pending"}
    return Refusal(reason=reasons.get(consent.status, "no_consent"), position=consent.position)


def still_allowed(purpose: Purpose, channel: Channel, basis: Basis, now: ConsentNow) -> Refusal | None:
    """Re-checked just before a queued message leaves: None if it may still go."""
    if basis.rule == "keyword_reply":
        return None  # the one reply a STOP, START or HELP gets is always allowed
    if basis.rule == "verification":
        # Codes still go to an email address that unsubscribed from everything (a code is sent only
        # when asked for, and it is how the contact gets back in); SMS carriers refuse after STOP.
        blocked = channel == "sms" and now.optout.in_force
        return Refusal(reason="channel_opted_out", position=now.optout.position) if blocked else None
    decision = decide(purpose, now)
    return decision if isinstance(decision, Refusal) else None
