"""Email feedback on real PostgreSQL: soft bounces counted within a window, reports recorded once, and
a suppression released only by the contact proving the address again (an opt-out they asked for stays)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from uuid import UUID

import pytest

from ledger.address import normalise
from ledger.channel_optout import ChannelOptOut, channel_optout_id
from ledger.channel_preferences import ChannelPreferences
from ledger.consent import Evidence
from ledger.consent_flows import Client, ConsentFlows
from ledger.email_feedback import EmailFeedback, SoftBounceRule
from ledger.mailbox import Mailbox, mailbox_id
from ledger.message import request_message
from ledger.registry import ContactRegistry
from ledger.send_policy import consent_now
from ledger.vocabulary import SYSTEM, Actor
from tests import pii
from tests.property.test_consent_machine import Clock, RememberingCodes

pytestmark = pytest.mark.integration
FEEDBACK = Actor(kind="system", id="test")


async def none() -> list[UUID]:
    return []


async def contact_with_messages(registry: ContactRegistry, count: int) -> tuple[UUID, list[UUID]]:
    contact_id = (await registry.register(normalise("email", pii.email()), SYSTEM)).contact_id
    ids = [uuid.uuid4() for _ in range(count)]
    messages = [
        request_message(i, contact_id=contact_id, channel="email", kind="transactional",
                        purpose="transactional", optin_id=None, idempotency_key=None, actor=SYSTEM)
        for i in ids
    ]  # fmt: skip
    await registry.repository.save(*messages)
    return contact_id, ids


async def channel_status(registry: ContactRegistry, contact_id: UUID) -> tuple[str, str | None]:
    decision = await consent_now(
        registry.repository.store, registry.repository.mapper, contact_id, None, "email"
    )
    return decision.status, decision.topic


async def test_soft_bounces_suppress_only_when_enough_fall_within_the_window(
    registry: ContactRegistry,
) -> None:
    clock = Clock()
    feedback = EmailFeedback(registry, none, clock, SoftBounceRule(limit=3, window=timedelta(days=7)))
    contact_id, (m1, m2, m3, m4) = await contact_with_messages(registry, 4)
    await feedback.bounced(m1, "soft", "4.2.2", "mailbox full", "smtp", FEEDBACK)
    clock.offset = timedelta(days=5)
    await feedback.bounced(m2, "soft", "4.2.2", None, "smtp", FEEDBACK)
    again = await feedback.bounced(m2, "soft", "4.2.2", None, "smtp", FEEDBACK)  # a retried report
    assert again.changed is False
    clock.offset = timedelta(days=9)  # m1 is out of the window now
    await feedback.bounced(m3, "soft", "4.4.1", None, "smtp", FEEDBACK)
    assert await channel_status(registry, contact_id) == ("unknown", None)
    clock.offset = timedelta(days=10)
    outcome = await feedback.bounced(m4, "soft", "4.4.1", None, "smtp", FEEDBACK)
    assert outcome.changed
    assert await channel_status(registry, contact_id) == ("opted_out", ChannelOptOut.OptedOut.TOPIC)
    mailbox = await registry.repository.get(Mailbox, mailbox_id(contact_id))
    assert len(mailbox.soft_bounces) == 4


async def test_a_suppression_is_released_by_a_confirmed_code_and_only_then(registry: ContactRegistry) -> None:
    clock, codes = Clock(), RememberingCodes(bytes(32))
    flows = ConsentFlows(registry.repository, registry, codes, clock)
    feedback = EmailFeedback(registry, none, clock)
    contact_id, (m1, m2) = await contact_with_messages(registry, 2)
    await feedback.bounced(m1, "soft", "4.2.2", None, "smtp", FEEDBACK)
    await feedback.bounced(m2, "hard", "5.1.1", "550 5.1.1 no such user", "webhook", FEEDBACK)
    assert await channel_status(registry, contact_id) == ("opted_out", ChannelOptOut.OptedOut.TOPIC)

    wrong = await flows.start_self_service(contact_id)
    assert wrong.verification_id is not None
    with pytest.raises(Exception, match="wrong"):
        await flows.confirm(wrong.verification_id, _not(codes.sent[wrong.verification_id]), Client())
    assert await channel_status(registry, contact_id) == ("opted_out", ChannelOptOut.OptedOut.TOPIC)

    proof = await flows.start_self_service(contact_id)
    assert proof.verification_id is not None
    await flows.confirm(proof.verification_id, codes.sent[proof.verification_id], Client())
    assert await channel_status(registry, contact_id) == ("unknown", None)
    optout = await registry.repository.get(ChannelOptOut, channel_optout_id(contact_id, "email"))
    assert optout.opted_out is False
    mailbox = await registry.repository.get(Mailbox, mailbox_id(contact_id))
    assert mailbox.soft_bounces == []


async def test_a_code_does_not_lift_an_opt_out_the_contact_asked_for(registry: ContactRegistry) -> None:
    clock, codes = Clock(), RememberingCodes(bytes(32))
    flows = ConsentFlows(registry.repository, registry, codes, clock)
    feedback = EmailFeedback(registry, none, clock)
    contact_id, (m1,) = await contact_with_messages(registry, 1)
    asked = Evidence(actor=Actor(kind="contact", id=str(contact_id)), source="email_one_click")
    changed = await ChannelPreferences(registry.repository, none).opt_out_everywhere(
        contact_id, "email", asked
    )
    await registry.repository.save(*changed)
    await feedback.bounced(m1, "hard", "5.1.1", None, "smtp", FEEDBACK)  # already out: stays the contact's
    proof = await flows.start_self_service(contact_id)
    assert proof.verification_id is not None
    await flows.confirm(proof.verification_id, codes.sent[proof.verification_id], Client())
    assert await channel_status(registry, contact_id) == ("opted_out", ChannelOptOut.OptedOut.TOPIC)


async def test_reports_about_unknown_or_non_email_messages_are_set_aside(registry: ContactRegistry) -> None:
    feedback = EmailFeedback(registry, none, Clock())
    head = await registry.repository.store.head()
    outcome = await feedback.bounced(uuid.uuid4(), "hard", "5.1.1", None, "smtp", FEEDBACK)
    assert outcome.ignored == "not one of our email messages" and outcome.position == head
    contact_id = (await registry.register(normalise("sms", pii.phone()), SYSTEM)).contact_id
    sms = request_message(uuid.uuid4(), contact_id=contact_id, channel="sms", kind="transactional",
                          purpose="transactional", optin_id=None, idempotency_key=None,
                          actor=SYSTEM)  # fmt: skip
    await registry.repository.save(sms)
    outcome = await feedback.complained(sms.id, "abuse", None, "smtp", FEEDBACK)
    assert outcome.ignored == "not one of our email messages"


def _not(code: str) -> str:
    return "000000" if code != "000000" else "111111"
