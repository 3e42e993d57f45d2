"""Email feedback's rules on the in-memory world: soft bounces counted within a window, each report
recorded once, complaints opting out of marketing only, mailto replies only from the contact's own
address, and a suppression released only by the contact proving the address (an opt-out they asked
for stays)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from uuid import UUID

import pytest

from ledger.application.channel_preferences import ChannelPreferences
from ledger.application.email_feedback import EmailFeedback, SoftBounceRule
from ledger.channel_optout import ChannelOptOut, channel_optout_id
from ledger.consent import Consent, Evidence, consent_id
from ledger.errors import VerificationError
from ledger.mailbox import Mailbox, mailbox_id
from ledger.message import request_message
from ledger.send_policy import consent_now
from ledger.vocabulary import SYSTEM, Actor
from tests.unit.world import NOBODY, World

FEEDBACK = Actor(kind="system", id="test")


async def messages(world: World, contact_id: UUID, count: int, optin_id: UUID | None = None) -> list[UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    await world.repository.save(*(
        request_message(i, contact_id=contact_id, channel="email", kind="promotional", purpose="marketing",
                        optin_id=optin_id, idempotency_key=None, actor=SYSTEM)
        for i in ids
    ))  # fmt: skip
    return ids


def feedback(world: World, rule: SoftBounceRule | None = None) -> EmailFeedback:
    return EmailFeedback(world.registry, world.programs, world.clock, rule)


async def channel(world: World, contact_id: UUID) -> tuple[str, str | None]:
    decision = await consent_now(world.store, world.repository.mapper, contact_id, None, "email")
    return decision.status, decision.topic


SUPPRESSED = ("opted_out", ChannelOptOut.OptedOut.TOPIC)


async def test_soft_bounces_suppress_only_when_enough_fall_within_the_window() -> None:
    world = World()
    rules = feedback(world, SoftBounceRule(limit=3, window=timedelta(days=7)))
    contact = await world.contact()
    m1, m2, m3, m4 = await messages(world, contact, 4)
    await rules.bounced(m1, "soft", "4.2.2", "mailbox full", "smtp", FEEDBACK)
    world.clock.advance(timedelta(days=5))
    await rules.bounced(m2, "soft", "4.2.2", None, "smtp", FEEDBACK)
    assert (await rules.bounced(m2, "soft", "4.2.2", None, "smtp", FEEDBACK)).changed is False  # retried
    world.clock.advance(timedelta(days=4))  # m1 is out of the window now
    await rules.bounced(m3, "soft", "4.4.1", None, "smtp", FEEDBACK)
    assert await channel(world, contact) == ("unknown", None)
    world.clock.advance(timedelta(days=1))
    assert (await rules.bounced(m4, "soft", "4.4.1", None, "smtp", FEEDBACK)).changed
    assert await channel(world, contact) == SUPPRESSED
    mailbox = await world.repository.get(Mailbox, mailbox_id(contact))
    assert len(mailbox.soft_bounces) == 4


async def test_a_hard_bounce_suppresses_without_withdrawing_any_consent() -> None:
    world = World()
    program, contact = await world.program(("email",)), await world.contact()
    await world.opted_in(contact, program)
    (m1,) = await messages(world, contact, 1, program.id)
    head = await world.store.head()
    await feedback(world).bounced(m1, "hard", "5.1.1", "550 no such user", "smtp", FEEDBACK)
    topics = await world.topics_after(head)
    assert topics == ["mailbox.opened", "mailbox.bounced", "channel.opened", "channel.opted_out"]
    assert (await world.consent(contact, program)).status == "opted_in"  # the contact asked for nothing
    assert await channel(world, contact) == SUPPRESSED


async def test_a_suppression_is_released_by_a_confirmed_code_and_only_then() -> None:
    world = World()
    contact = await world.contact()
    m1, m2 = await messages(world, contact, 2)
    await feedback(world).bounced(m1, "soft", "4.2.2", None, "smtp", FEEDBACK)
    await feedback(world).bounced(m2, "hard", "5.1.1", None, "webhook", FEEDBACK)
    wrong = await world.flows.start_self_service(contact)
    assert wrong.verification_id is not None
    with pytest.raises(VerificationError):
        await world.flows.confirm(wrong.verification_id, _not(world.code(wrong.verification_id)), NOBODY)
    assert await channel(world, contact) == SUPPRESSED
    proof = await world.flows.start_self_service(contact)
    assert proof.verification_id is not None
    await world.flows.confirm(proof.verification_id, world.code(proof.verification_id), NOBODY)
    assert await channel(world, contact) == ("unknown", None)
    assert (await world.repository.get(Mailbox, mailbox_id(contact))).soft_bounces == []


async def test_a_code_does_not_lift_an_opt_out_the_contact_asked_for() -> None:
    world = World()
    contact = await world.contact()
    (m1,) = await messages(world, contact, 1)
    asked = Evidence(actor=Actor(kind="contact", id=str(contact)), source="email_one_click")
    changed = await ChannelPreferences(world.repository, world.programs).opt_out_everywhere(
        contact, "email", asked
    )
    await world.repository.save(*changed)
    await feedback(world).bounced(m1, "hard", "5.1.1", None, "smtp", FEEDBACK)  # out already: stays theirs
    proof = await world.flows.start_self_service(contact)
    assert proof.verification_id is not None
    await world.flows.confirm(proof.verification_id, world.code(proof.verification_id), NOBODY)
    assert await channel(world, contact) == SUPPRESSED
    assert (await world.repository.get(ChannelOptOut, channel_optout_id(contact, "email"))).opted_out


async def test_a_complaint_opts_out_of_every_running_marketing_program_on_email_only() -> None:
    world = World()
    contact = await world.contact()
    offers, news = await world.program(("email",)), await world.program(("email", "sms"))
    orders = await world.program(("email",), purpose="transactional")
    texts = await world.program(("sms",))
    await world.opted_in(contact, offers)
    (m1,) = await messages(world, contact, 1, offers.id)
    outcome = await feedback(world).complained(m1, "abuse", "FBL/1.0", "ses", FEEDBACK)
    assert outcome.changed
    assert (await world.consent(contact, offers)).status == "opted_out"
    assert (await world.consent(contact, news)).status == "opted_out"  # asked nothing yet: now refused
    for untouched in (orders, texts):  # transactional, or not on email
        assert await world.repository.find(Consent, consent_id(contact, untouched.id, "email")) is None
    assert await channel(world, contact) == ("unknown", None)  # transactional mail still goes
    again = await feedback(world).complained(m1, "abuse", None, "ses", FEEDBACK)
    assert again.changed is False and again.position == outcome.position


async def test_a_mailto_reply_acts_only_from_the_contacts_own_address() -> None:
    world = World()
    program = await world.program(("email",))
    address = world.address()
    contact = (await world.registry.register(address, SYSTEM)).contact_id
    await world.opted_in(contact, program)
    stranger = await feedback(world).unsubscribe_reply(contact, program.id, world.address())
    assert stranger.ignored == "not sent from the contact's own address"
    assert (await world.consent(contact, program)).status == "opted_in"
    done = await feedback(world).unsubscribe_reply(contact, program.id, address)
    assert done.changed and (await world.consent(contact, program)).status == "opted_out"


async def test_reports_about_unknown_sms_or_erased_contacts_messages_are_set_aside() -> None:
    world = World()
    head = await world.store.head()
    outcome = await feedback(world).bounced(uuid.uuid4(), "hard", "5.1.1", None, "smtp", FEEDBACK)
    assert (outcome.ignored, outcome.position) == ("not one of our email messages", head)
    phone = await world.contact("sms")
    sms = request_message(uuid.uuid4(), contact_id=phone, channel="sms", kind="transactional",
                          purpose="transactional", optin_id=None, idempotency_key=None,
                          actor=SYSTEM)  # fmt: skip
    await world.repository.save(sms)
    assert (await feedback(world).complained(sms.id, "abuse", None, "smtp", FEEDBACK)).ignored
    gone = await world.contact()
    (m1,) = await messages(world, gone, 1)
    await world.registry.erase(gone, SYSTEM)
    assert (await feedback(world).bounced(m1, "hard", "5.1.1", None, "smtp", FEEDBACK)).ignored == (
        "the contact was erased"
    )


def _not(code: str) -> str:
    return "000000" if code != "000000" else "111111"
