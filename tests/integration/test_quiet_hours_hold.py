"""Quiet hours in the outbox worker, on real PostgreSQL with a controllable clock: a marketing SMS
outside the recipient's window is held (not dropped, its timeline says until when) and sent when
the window opens; a transactional one goes at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import pytest

from adapters.crypto.codes import HmacCodes
from adapters.postgres.outbox_queue import PostgresOutboxQueue
from adapters.postgres.rate_limits import PostgresRateLimiter
from api.auth.unsubscribe_tokens import UnsubscribeTokens
from ledger.address import normalise
from ledger.application.channel_preferences import ChannelPreferences
from ledger.application.consent import Client, ConsentFlows
from ledger.application.contacts import ContactRegistry
from ledger.application.dispatch import Dispatcher
from ledger.application.guardrails import Guardrails, Limits
from ledger.application.messaging import Messaging, SendRequest
from ledger.composer import Composer
from ledger.default_templates import ensure_default_templates
from ledger.message import Message
from ledger.ports import Outgoing
from ledger.program import new_program
from ledger.quiet_hours import QuietHours
from ledger.template import TemplateKind
from ledger.vocabulary import Actor, Purpose
from projections.messages import MessagesProjection
from projections.outbox import OutboxProjection
from projections.runner import ProjectionRunner
from tests import pii

pytestmark = pytest.mark.integration
STAFF = Actor(kind="user", id="u-1")
NEW_YORK = "+12125550147"
pii.USED.add(NEW_YORK)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class Recorder:
    name = "recorder"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent: list[tuple[UUID, datetime]] = []

    async def send(self, outgoing: Outgoing) -> str:
        self.sent.append((outgoing.message_id, self.clock.now()))
        return f"P-{outgoing.message_id}"


async def queued(registry: ContactRegistry, pool: asyncpg.Pool, purpose: Purpose) -> UUID:
    await ensure_default_templates(registry.repository)
    program = new_program(
        name=f"P {purpose}", description="", purpose=purpose, channels=("sms",), disclosure="d", actor=STAFF
    )
    await registry.repository.save(program)
    contact_id = (await registry.register(normalise("sms", NEW_YORK), STAFF)).contact_id
    flows = ConsentFlows(registry.repository, registry, HmacCodes(bytes(32)), Clock(datetime.now(UTC)))
    await flows.set_own(contact_id, uuid.uuid4(), program.id, "opt_in", Client())
    composer = Composer(registry.repository, registry.sealer, UnsubscribeTokens(bytes(32), "https://x"))
    kind: TemplateKind = "promotional" if purpose == "marketing" else "transactional"
    guardrails = Guardrails(PostgresRateLimiter(pool), registry.repository, Limits())
    outcome = await Messaging(composer, flows, guardrails).send(
        SendRequest(contact_id, program.id, kind=kind, variables={"message": "Sale!"}), STAFF
    )
    assert outcome.status == "queued", outcome
    return outcome.message_id


def worker(registry: ContactRegistry, pool: asyncpg.Pool, clock: Clock) -> tuple[Dispatcher, Recorder]:
    sender = Recorder(clock)
    composer = Composer(registry.repository, registry.sealer, UnsubscribeTokens(bytes(32), "https://x"))
    queue = PostgresOutboxQueue(pool, clock)
    preferences = ChannelPreferences(registry.repository, lambda: _no_programs())
    dispatcher = Dispatcher(
        registry, composer, {"sms": sender}, queue, clock, preferences=preferences, quiet_hours=QuietHours()
    )
    return dispatcher, sender


async def _no_programs() -> list[UUID]:
    return []  # no provider opt-out happens here: no program is ever looked up


async def test_a_marketing_sms_is_held_until_eight_local_then_sent(
    registry: ContactRegistry, pool: asyncpg.Pool
) -> None:
    message_id = await queued(registry, pool, "marketing")
    runner = ProjectionRunner(pool, [OutboxProjection(), MessagesProjection()])
    for projection in runner.projections.values():
        await runner.catch_up(projection)
    # 10:00 UTC tomorrow: 05:00 or 06:00 in New York, before the window opens at 08:00 local.
    clock = Clock(datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1))
    opening = QuietHours().held_until(
        channel="sms", purpose="marketing", optin_id=None, address=NEW_YORK, at=clock.at
    )
    assert opening is not None and opening > clock.at
    dispatcher, sender = worker(registry, pool, clock)
    assert (await dispatcher.run_once())[0] == 1
    assert sender.sent == []  # held, not sent
    message = await registry.repository.get(Message, message_id)
    assert message.sendable and message.held_until == opening  # still queued: never dropped
    for projection in runner.projections.values():
        await runner.catch_up(projection)
    row = await pool.fetchrow("SELECT status, reason FROM messages WHERE id = $1", message_id)
    assert row is not None and row["status"] == "held" and opening.isoformat() in row["reason"]
    timeline = await pool.fetch(
        "SELECT topic, details FROM message_events WHERE message_id = $1 ORDER BY position", message_id
    )
    assert [t["topic"] for t in timeline][-1] == "message.held"

    clock.at = opening - timedelta(seconds=1)
    assert (await dispatcher.run_once())[0] == 0  # nobody offers it before the window opens
    clock.at = opening
    assert (await dispatcher.run_once())[0] == 1
    assert sender.sent == [(message_id, opening)]
    message = await registry.repository.get(Message, message_id)
    assert message.status == "sent"
    held_events = [
        e for e in await registry.repository.store.read_stream(message_id) if e.topic == "message.held"
    ]
    assert len(held_events) == 1


async def test_a_transactional_sms_goes_at_night(registry: ContactRegistry, pool: asyncpg.Pool) -> None:
    message_id = await queued(registry, pool, "transactional")
    runner = ProjectionRunner(pool, [OutboxProjection()])
    await runner.catch_up(runner.projections["outbox"])
    clock = Clock(datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0) + timedelta(days=1))
    dispatcher, sender = worker(registry, pool, clock)
    assert (await dispatcher.run_once())[0] == 1
    assert [m for m, _ in sender.sent] == [message_id]
