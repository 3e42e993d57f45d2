"""One-click email unsubscribes on the in-memory world: from one program, or from every email."""

from __future__ import annotations

import pytest

from ledger.application.channel_preferences import ChannelPreferences
from ledger.application.consent import Client
from ledger.application.unsubscribe import Unsubscribe
from ledger.channel_optout import ChannelOptOut, channel_optout_id
from ledger.errors import NotFoundError
from tests.unit.world import NOBODY, STAFF, World


def unsubscribe(world: World) -> Unsubscribe:
    return Unsubscribe(world.registry, ChannelPreferences(world.repository, world.programs))


async def test_the_link_opts_out_of_its_program_at_once_and_only_once() -> None:
    world = World()
    program, other, contact = await world.program(), await world.program(), await world.contact()
    await world.opted_in(contact, program)
    await world.opted_in(contact, other)
    position = await unsubscribe(world).from_program(contact, program.id, Client(user_agent="Mail/1.0"))
    assert (await world.consent(contact, program)).status == "opted_out"
    assert (await world.consent(contact, other)).status == "opted_in"
    [withdrawn] = await world.store.read_after(position - 1, 1)
    evidence = world.repository.mapper.to_domain_event(withdrawn.stored()).evidence  # type: ignore[attr-defined]
    assert (evidence.source, evidence.actor.id, evidence.sealed_client is not None) == (
        "email_one_click", str(contact), True,
    )  # fmt: skip
    assert await unsubscribe(world).from_program(contact, program.id, NOBODY) == position


async def test_the_link_works_without_any_earlier_consent() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    await unsubscribe(world).from_program(contact, program.id, NOBODY)
    assert (await world.consent(contact, program)).status == "opted_out"


async def test_everything_withdraws_each_program_and_blocks_the_channel() -> None:
    world = World()
    joined, asked, untouched = await world.program(), await world.program(), await world.program()
    contact = await world.contact()
    await world.opted_in(contact, joined)
    await world.flows.request(contact, asked.id, "opt_in", STAFF, NOBODY)
    start = await world.store.head()
    position = await unsubscribe(world).from_everything(contact, NOBODY)
    assert sorted(await world.topics_after(start)) == [
        "channel.opened", "channel.opted_out", "consent.withdrawn", "consent.withdrawn",
    ]  # fmt: skip
    optout = await world.repository.get(ChannelOptOut, channel_optout_id(contact, "email"))
    assert (optout.opted_out, optout.withdrawn) == (True, (joined.id,))  # what START would give back
    assert [(await world.consent(contact, p)).status for p in (joined, asked)] == ["opted_out", "opted_out"]
    assert await world.repository.find(type(await world.consent(contact, joined)), untouched.id) is None
    assert await unsubscribe(world).from_everything(contact, NOBODY) == position  # done already


async def test_an_erased_contact_cannot_be_unsubscribed() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    await world.registry.erase(contact, STAFF)
    with pytest.raises(NotFoundError):
        await unsubscribe(world).from_program(contact, program.id, NOBODY)
    with pytest.raises(NotFoundError):
        await unsubscribe(world).from_everything(contact, NOBODY)
