"""STOP, START and HELP from the phone, on the in-memory world: acted on at once, replied to once."""

from __future__ import annotations

from api.auth.unsubscribe_tokens import UnsubscribeTokens
from ledger.application.channel_preferences import ChannelPreferences
from ledger.application.inbound_sms import InboundSms
from ledger.composer import Composer
from ledger.keywords import Keywords
from tests.unit.world import NOBODY, STAFF, World


def inbound(world: World) -> InboundSms:
    composer = Composer(world.repository, world.sealer, UnsubscribeTokens(bytes(32), "https://ledger.test"))
    preferences = ChannelPreferences(world.repository, world.programs)
    return InboundSms(world.registry, preferences, composer, Keywords())


async def test_stop_withdraws_everything_and_start_gives_back_exactly_that() -> None:
    world = World()
    kept, left, phone = await world.program(), await world.program(), world.address("sms")
    contact = (await world.registry.register(phone, STAFF)).contact_id
    await world.opted_in(contact, kept)
    await world.opted_in(contact, left)
    await world.flows.set_own(contact, None, left.id, "opt_out", NOBODY)
    stopped = await inbound(world).receive(phone, "STOP", "SM-1")
    assert stopped is not None and stopped.changed
    assert [(await world.consent(contact, p, "sms")).status for p in (kept, left)] == ["opted_out"] * 2
    started = await inbound(world).receive(phone, "start", "SM-2")
    assert started is not None and started.changed
    assert [(await world.consent(contact, p, "sms")).status for p in (kept, left)] == [
        "opted_in",
        "opted_out",
    ]


async def test_a_retried_webhook_is_handled_once() -> None:
    world = World()
    await world.program()
    phone = world.address("sms")
    first = await inbound(world).receive(phone, "STOP", "SM-1")
    again = await inbound(world).receive(phone, "STOP", "SM-1")
    assert first is not None and again is not None
    assert (again.changed, again.position) == (False, first.position)
    assert (await world.topics_after(0)).count("message.queued") == 1


async def test_start_confirms_an_invite_waiting_for_this_number() -> None:
    world = World()
    program, phone = await world.program(), world.address("sms")
    contact = (await world.registry.register(phone, STAFF)).contact_id
    await world.flows.request(contact, program.id, "opt_in", STAFF, NOBODY)
    await inbound(world).receive(phone, "YES", "SM-1")
    assert (await world.consent(contact, program, "sms")).status == "opted_in"


async def test_help_is_answered_and_an_ordinary_text_changes_nothing() -> None:
    world = World()
    phone = world.address("sms")
    assert await inbound(world).receive(phone, "what is this?", "SM-1") is None
    assert await world.store.head() == 0
    helped = await inbound(world).receive(phone, "HELP", "SM-2")
    assert helped is not None and helped.family == "help"
    assert (await world.topics_after(0))[-2:] == ["message.requested", "message.queued"]


async def test_a_replayed_start_that_changed_nothing_does_not_undo_a_later_stop() -> None:
    """Issue 15 item 7: every keyword acted on is recorded by its provider id, replied to or not."""
    world = World()
    program, phone = await world.program(), world.address("sms")
    contact = (await world.registry.register(phone, STAFF)).contact_id
    await world.opted_in(contact, program)
    started = await inbound(world).receive(phone, "START", "SM-old")  # nothing to give back
    assert started is not None and not started.changed
    await inbound(world).receive(phone, "STOP", "SM-stop")
    head = await world.store.head()
    replayed = await inbound(world).receive(phone, "START", "SM-old")
    assert replayed is not None and not replayed.changed
    assert (await world.consent(contact, program, "sms")).status == "opted_out"
    assert await world.store.head() == head
    assert (await world.topics_after(0)).count("sms.inbound_received") == 2


async def test_a_replay_for_an_erased_number_registers_nobody() -> None:
    world = World()
    phone = world.address("sms")
    await inbound(world).receive(phone, "STOP", "SM-1")
    contact = await world.registry.find(phone)
    assert contact is not None
    await world.registry.erase(contact, STAFF)
    head = await world.store.head()
    assert await inbound(world).receive(phone, "STOP", "SM-1") is None
    assert await world.registry.find(phone) is None
    assert await world.store.head() == head
