"""Registering and erasing contacts, on the in-memory world: idempotent, sealed, shredded."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from ledger.address import normalise
from ledger.errors import NotFoundError
from ledger.vocabulary import SYSTEM
from tests import pii
from tests.unit.world import STAFF, World


async def test_registering_an_address_twice_gives_the_same_contact() -> None:
    world = World()
    raw = pii.remember("Someone.Else@Example-Mail.org")
    first = await world.registry.register(normalise("email", raw), STAFF)
    again = await world.registry.register(normalise("email", raw.lower()), STAFF)
    assert (first.created, again.created) == (True, False)
    assert again.contact_id == first.contact_id
    assert await world.topics_after(0) == ["contact.registered"]


async def test_racing_registrations_of_one_address_make_one_contact() -> None:
    world = World()
    address = world.address("sms")
    results = await asyncio.gather(*(world.registry.register(address, STAFF) for _ in range(8)))
    assert len({r.contact_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert await world.topics_after(0) == ["contact.registered"]


async def test_the_ledger_holds_the_address_only_sealed() -> None:
    world = World()
    address = world.address()
    contact_id = (await world.registry.register(address, STAFF)).contact_id
    [row] = await world.store.read_after(0, 10)
    assert address.value.encode() not in row.state
    assert await world.registry.address_of(contact_id) == address
    assert await world.registry.find(address) == contact_id


async def test_a_registration_cut_short_is_completed_by_the_next_attempt() -> None:
    world = World()
    address, claimed = world.address(), uuid.uuid4()
    await world.book.claim(world.sealer.blind_index(address.value), claimed)  # then the process died
    result = await world.registry.register(address, STAFF)
    assert (result.contact_id, result.created) == (claimed, True)
    assert await world.registry.address_of(claimed) == address


async def test_erasure_shreds_the_key_frees_the_address_and_is_logged_first() -> None:
    world = World()
    address = world.address()
    contact_id = (await world.registry.register(address, STAFF)).contact_id
    await world.registry.erase(contact_id, STAFF)
    assert await world.topics_after(1) == ["contact.erased"]
    assert await world.erasures.erased() == [contact_id]
    assert await world.keys.get(contact_id) is None
    assert await world.registry.find(address) is None
    with pytest.raises(NotFoundError):
        await world.registry.address_of(contact_id)
    with pytest.raises(NotFoundError):
        await world.registry.erase(contact_id, STAFF)
    successor = await world.registry.register(address, STAFF)
    assert successor.created and successor.contact_id != contact_id


async def test_erasing_again_after_a_restore_touches_only_what_is_still_there() -> None:
    world = World()
    live, gone = await world.contact(), await world.contact()
    await world.registry.erase(gone, STAFF)
    assert await world.registry.erase_again(live, SYSTEM) is True
    assert await world.registry.erase_again(gone, SYSTEM) is False
    assert await world.registry.erase_again(uuid.uuid4(), SYSTEM) is False
    assert await world.keys.get(live) is None
    assert (await world.topics_after(0)).count("contact.erased") == 2
