"""Sending on the in-memory world: consent is checked at send time; a refusal is recorded blocked."""

from __future__ import annotations

from uuid import UUID

import pytest

from api.auth.unsubscribe_tokens import UnsubscribeTokens
from ledger.application.channel_preferences import ChannelPreferences
from ledger.application.guardrails import Guardrails, Limits
from ledger.application.messaging import Messaging, SendOutcome, SendRequest
from ledger.composer import Composer
from ledger.consent import Evidence
from ledger.errors import ConflictError, InvalidValueError
from ledger.program import Program
from ledger.vocabulary import Actor
from tests.unit.world import NOBODY, STAFF, World

APP = Actor(kind="api_key", id="key-1")
TEXT = {"message": "Friday deals", "subject": "Deals"}


def messaging(world: World) -> Messaging:
    composer = Composer(world.repository, world.sealer, UnsubscribeTokens(bytes(32), "https://ledger.test"))
    return Messaging(composer, world.flows, Guardrails(world.limiter, world.repository, Limits()))


async def send(world: World, contact: UUID, program: Program, **options: str) -> SendOutcome:
    request = SendRequest(contact, program.id, kind="promotional", variables=TEXT, **options)  # type: ignore[arg-type]
    return await messaging(world).send(request, APP)


async def test_an_opted_in_contact_gets_the_message_queued_on_that_consent() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    await world.opted_in(contact, program)
    granted = await world.store.head()
    outcome = await send(world, contact, program)
    assert outcome.status == "queued"
    assert outcome.basis is not None
    assert (outcome.basis.rule, outcome.basis.consent_position) == ("marketing_consent", granted)
    assert await world.topics_after(granted) == ["template.created", "message.requested", "message.queued"]


@pytest.mark.parametrize(
    ("history", "reason"),
    [
        ("none", "no_consent"),
        ("asked", "consent_pending"),
        ("left", "opted_out"),
        ("everything", "channel_opted_out"),
    ],
)
async def test_without_consent_in_force_the_message_is_recorded_blocked(history: str, reason: str) -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    if history == "asked":
        await world.flows.request(contact, program.id, "opt_in", STAFF, NOBODY)
    if history == "left":
        await world.opted_in(contact, program)
        await world.flows.record_opt_out(contact, program.id, "by phone", STAFF, NOBODY)
    if history == "everything":
        await world.opted_in(contact, program)
        evidence = Evidence(actor=Actor(kind="contact", id=str(contact)), source="email_one_click")
        preferences = ChannelPreferences(world.repository, world.programs)
        await world.repository.save(*await preferences.opt_out_everywhere(contact, "email", evidence))
    outcome = await send(world, contact, program)
    assert (outcome.status, outcome.reason) == ("blocked", reason)
    assert (await world.topics_after(0))[-1] == "message.blocked"


async def test_an_archived_programs_message_is_blocked_even_with_consent() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    await world.opted_in(contact, program)
    await world.repository.update(Program, program.id, lambda p: p.archive(STAFF))
    outcome = await send(world, contact, program)
    assert (outcome.status, outcome.reason) == ("blocked", "program_archived")


async def test_transactional_mail_needs_no_opt_in() -> None:
    world = World()
    program, contact = await world.program(purpose="transactional"), await world.contact()
    request = SendRequest(contact, program.id, kind="transactional", variables=TEXT)
    outcome = await messaging(world).send(request, APP)
    assert outcome.status == "queued"
    assert outcome.basis is not None and outcome.basis.rule == "transactional"


async def test_a_retry_with_the_same_key_gets_the_first_answer() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    first = await send(world, contact, program, idempotency_key="k-1")
    again = await send(world, contact, program, idempotency_key="k-1")
    assert (again.message_id, again.status, again.replayed) == (first.message_id, first.status, True)
    assert (await world.topics_after(0)).count("message.requested") == 1
    other = await world.contact()
    with pytest.raises(ConflictError, match="idempotency_key"):
        await send(world, other, program, idempotency_key="k-1")


async def test_a_missing_variable_is_refused_and_leaves_no_trace() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    head = await world.store.head()
    request = SendRequest(contact, program.id, kind="promotional", variables={"subject": "Deals"})
    with pytest.raises(InvalidValueError, match="message"):
        await messaging(world).send(request, APP)
    assert not any(t.startswith("message.") for t in await world.topics_after(head))


async def test_with_no_consent_yet_the_opt_in_invite_goes_instead() -> None:
    world = World()
    program, contact = await world.program(), await world.contact()
    request = SendRequest(contact, program.id, kind="promotional", variables=TEXT)
    outcome = await messaging(world).send_with_consent(request, APP, NOBODY)
    assert outcome.status == "diverted" and outcome.verification_id is not None
    assert (await world.consent(contact, program)).status == "pending"
