"""Limits on sending codes, on the in-memory world: each refusal raises and is recorded."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from ledger.address import normalise
from ledger.application.guardrails import Guardrails, Limits
from ledger.errors import InvalidValueError, RateLimitedError
from tests import pii
from tests.unit.world import World


def guardrails(world: World, **limits: int) -> Guardrails:
    return Guardrails(world.limiter, world.repository, Limits(**limits))  # type: ignore[arg-type]


async def test_sms_goes_only_to_allowed_countries_and_the_refusal_is_recorded() -> None:
    world = World()
    french = normalise("sms", pii.remember("+33612345678"))
    with pytest.raises(InvalidValueError, match="country"):
        await guardrails(world).public_code(french, b"\x01" * 32, None)
    [row] = await world.store.read_after(0, 10)
    assert row.topic == "verification.refused"
    assert b'"FR"' in row.state and b'"+33612"' in row.state and b"612345678" not in row.state


async def test_an_address_gets_its_limit_of_codes_per_window() -> None:
    world = World()
    rails, address, index = guardrails(world, per_address=2), world.address(), b"\x02" * 32
    await rails.public_code(address, index, None)
    await rails.public_code(address, index, None)
    with pytest.raises(RateLimitedError) as refused:
        await rails.public_code(address, index, None)
    assert refused.value.retry_after == 3600
    assert await world.topics_after(0) == ["verification.refused"]
    world.clock.advance(timedelta(hours=1))
    await rails.public_code(address, index, None)


async def test_one_client_cannot_ask_for_codes_to_many_addresses() -> None:
    world = World()
    rails, client = guardrails(world, per_client=3), b"\x03" * 32
    for n in range(3):
        await rails.public_code(world.address(), bytes([n]) * 32, client)
    with pytest.raises(RateLimitedError):
        await rails.public_code(world.address(), b"\x09" * 32, client)


async def test_staff_cannot_flood_one_contact_with_codes() -> None:
    world = World()
    rails, contact = guardrails(world, per_contact=2), uuid.uuid4()
    await rails.staff_code(contact)
    await rails.staff_code(contact)
    with pytest.raises(RateLimitedError):
        await rails.staff_code(contact)
    await rails.staff_code(uuid.uuid4())


@pytest.mark.parametrize(
    ("number", "kind", "said"),
    [
        ("+19005550123", "premium_rate", "premium-rate"),
        ("+18005550199", "toll_free", "toll-free"),
        ("+445612345678", "voip", "VoIP"),
        ("+447640123456", "pager", "pager"),
        ("+447012345678", "personal_number", "personal (follow-me)"),
        ("+448431234567", "premium_rate", "premium-rate"),
    ],
)
async def test_public_codes_go_only_to_numbers_that_can_receive_one(
    number: str, kind: str, said: str
) -> None:
    world = World()
    rails = Guardrails(world.limiter, world.repository, Limits(sms_countries=frozenset({"US", "GB"})))
    address = normalise("sms", pii.remember(number))
    with pytest.raises(InvalidValueError) as refused:
        await rails.public_code(address, b"\x05" * 32, None)
    assert str(refused.value) == f"codes are texted to mobile numbers only, not to {said} numbers"
    [row] = await world.store.read_after(0, 10)
    assert row.topic == "verification.refused" and f'"number_type_{kind}"'.encode() in row.state
    assert number[-7:].encode() not in row.state  # the prefix only, never the number


async def test_mobile_and_fixed_line_or_mobile_numbers_get_codes() -> None:
    world = World()
    rails = Guardrails(world.limiter, world.repository, Limits(sms_countries=frozenset({"US", "GB"})))
    for number in ("+447400123456", pii.phone()):  # a UK mobile; a US number (mobile or fixed: unknowable)
        await rails.public_code(normalise("sms", pii.remember(number)), number.encode().ljust(32), None)
    assert await world.topics_after(0) == []
