"""Consent flows on the in-memory world: requests wait for the contact's code; nothing is granted
without it; wrong codes count and lock; expiry lapses the request; opting out is never harder."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.application.consent import Client
from ledger.errors import (
    DisclosureChangedError,
    InvalidCommandError,
    InvalidValueError,
    NotFoundError,
    VerificationError,
)
from ledger.verification import CODE_TTL, MAX_ATTEMPTS
from ledger.vocabulary import Actor
from tests.unit.world import NOBODY, STAFF, World


async def test_a_request_is_pending_until_the_contact_sends_the_right_code() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    start = await world.store.head()
    asked = await world.flows.request(contact, program.id, "opt_in", STAFF, NOBODY)
    assert (asked.status, (await world.consent(contact, program)).status) == ("pending", "pending")
    assert await world.topics_after(start) == ["verification.issued", "consent.opened", "consent.requested"]
    assert asked.verification_id is not None
    done = await world.flows.confirm(asked.verification_id, world.code(asked.verification_id), NOBODY)
    assert done.status == "opted_in"
    assert await world.topics_after(asked.position) == ["verification.confirmed", "consent.granted"]


async def test_the_grant_names_the_code_and_the_disclosure_the_contact_was_asked_with() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    await world.opted_in(contact, program)
    consent = await world.consent(contact, program)
    [*_, granted] = await world.store.read_stream(consent.id)
    evidence = world.repository.mapper.to_domain_event(granted).evidence  # type: ignore[attr-defined]
    assert evidence.verification_id is not None
    assert (evidence.actor.kind, evidence.source) == ("contact", "web")
    assert (evidence.disclosure_version, evidence.disclosure_sha256) == (1, program.disclosure_sha256)


async def test_a_wrong_code_counts_and_changes_nothing_else() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    asked = await world.flows.request(contact, program.id, "opt_in", STAFF, NOBODY)
    assert asked.verification_id is not None
    wrong = "000000" if world.code(asked.verification_id) != "000000" else "111111"
    with pytest.raises(VerificationError) as refused:
        await world.flows.confirm(asked.verification_id, wrong, NOBODY)
    assert (refused.value.outcome, refused.value.attempts_left) == ("wrong", MAX_ATTEMPTS - 1)
    assert await world.topics_after(asked.position) == ["verification.failed"]
    assert (await world.consent(contact, program)).status == "pending"


async def test_too_many_wrong_codes_lock_the_code_and_lapse_the_request() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    asked = await world.flows.request(contact, program.id, "opt_in", STAFF, NOBODY)
    assert asked.verification_id is not None
    right = world.code(asked.verification_id)
    wrong = "000000" if right != "000000" else "111111"
    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(VerificationError) as refused:
            await world.flows.confirm(asked.verification_id, wrong, NOBODY)
        outcomes.append(refused.value.outcome)
    assert outcomes == ["wrong"] * (MAX_ATTEMPTS - 1) + ["locked"]
    assert (await world.consent(contact, program)).status == "unknown"
    with pytest.raises(VerificationError, match="locked"):
        await world.flows.confirm(asked.verification_id, right, NOBODY)
    assert "consent.granted" not in await world.topics_after(0)


async def test_an_expired_code_lapses_the_request_it_carried() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    asked = await world.flows.request(contact, program.id, "opt_in", STAFF, NOBODY)
    assert asked.verification_id is not None
    world.clock.advance(CODE_TTL + timedelta(seconds=1))
    with pytest.raises(VerificationError) as refused:
        await world.flows.confirm(asked.verification_id, world.code(asked.verification_id), NOBODY)
    assert refused.value.outcome == "expired"
    assert await world.topics_after(asked.position) == ["verification.expired", "consent.lapsed"]
    assert (await world.consent(contact, program)).status == "unknown"


async def test_a_code_is_used_once() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    asked = await world.flows.request(contact, program.id, "opt_in", STAFF, NOBODY)
    assert asked.verification_id is not None
    code = world.code(asked.verification_id)
    await world.flows.confirm(asked.verification_id, code, NOBODY)
    with pytest.raises(VerificationError, match="already used"):
        await world.flows.confirm(asked.verification_id, code, NOBODY)


async def test_a_newer_request_makes_the_older_code_useless_for_consent() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    old = await world.flows.request(contact, program.id, "opt_in", STAFF, NOBODY)
    await world.flows.request(contact, program.id, "opt_in", STAFF, NOBODY)
    assert old.verification_id is not None
    with pytest.raises(InvalidCommandError, match="not for the consent change pending now"):
        await world.flows.confirm(old.verification_id, world.code(old.verification_id), NOBODY)
    assert (await world.consent(contact, program)).status == "pending"


async def test_requests_are_refused_for_archived_programs_and_other_channels() -> None:
    world = World()
    email_only, contact = await world.program(("email",)), await world.contact("sms")
    with pytest.raises(InvalidValueError, match="sms"):
        await world.flows.request(contact, email_only.id, "opt_in", STAFF, NOBODY)
    archived = await world.program()
    await world.repository.update(type(archived), archived.id, lambda p: p.archive(STAFF))
    with pytest.raises(InvalidCommandError, match="archived"):
        await world.flows.request(contact, archived.id, "opt_in", STAFF, NOBODY)


async def test_a_verified_contact_sets_their_own_consent_at_once() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    started = await world.flows.start_self_service(contact)
    assert started.verification_id is not None
    await world.flows.confirm_self_service(
        contact, started.verification_id, world.code(started.verification_id)
    )
    proof = started.verification_id
    joined = await world.flows.set_own(contact, proof, program.id, "opt_in", Client(ip="192.0.2.1"))
    assert joined.status == "opted_in"
    again = await world.flows.set_own(contact, proof, program.id, "opt_in", NOBODY)
    assert again.position == joined.position  # already in: nothing recorded
    left = await world.flows.set_own(contact, proof, program.id, "opt_out", NOBODY)
    assert left.status == "opted_out"
    assert await world.topics_after(joined.position) == ["consent.withdrawn"]


async def test_an_opt_in_is_refused_when_the_disclosure_changed_since_it_was_shown() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    await world.repository.update(
        type(program), program.id, lambda p: p.change_disclosure("New words.", STAFF)
    )
    with pytest.raises(DisclosureChangedError):
        await world.flows.set_own(contact, None, program.id, "opt_in", NOBODY, shown_version=1)
    done = await world.flows.set_own(contact, None, program.id, "opt_out", NOBODY, shown_version=1)
    assert done.status == "opted_out"  # an opt-out never depends on the text


async def test_staff_record_an_opt_out_at_once_but_only_with_a_reason() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    await world.opted_in(contact, program)
    for empty in ("", "   "):
        with pytest.raises(InvalidValueError, match="reason"):
            await world.flows.record_opt_out(contact, program.id, empty, STAFF, NOBODY)
    assert (await world.consent(contact, program)).status == "opted_in"
    done = await world.flows.record_opt_out(contact, program.id, "asked by phone", STAFF, NOBODY)
    assert done.status == "opted_out"


async def test_an_opt_out_can_be_recorded_for_an_archived_program() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    await world.opted_in(contact, program)
    await world.repository.update(type(program), program.id, lambda p: p.archive(STAFF))
    done = await world.flows.record_opt_out(
        contact, program.id, "letter", Actor(kind="user", id="u-2"), NOBODY
    )
    assert done.status == "opted_out"


async def test_nothing_happens_for_an_erased_contact() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    await world.registry.erase(contact, STAFF)
    head = await world.store.head()
    with pytest.raises(NotFoundError):
        await world.flows.request(contact, program.id, "opt_in", STAFF, NOBODY)
    with pytest.raises(NotFoundError):
        await world.flows.start_self_service(contact)
    assert await world.store.head() == head
