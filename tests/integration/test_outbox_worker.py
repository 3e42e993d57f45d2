"""The dispatcher on real PostgreSQL: leases keep two workers off one message, a crash after the
provider took a message means one more attempt with the same id, and consent is checked again
just before sending."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

import asyncpg
import pytest

from adapters.clock import SystemClock
from adapters.crypto.codes import HmacCodes
from adapters.postgres.outbox_queue import PostgresOutboxQueue
from adapters.postgres.rate_limits import PostgresRateLimiter
from api.auth.unsubscribe_tokens import UnsubscribeTokens
from ledger.address import normalise
from ledger.application.channel_preferences import ChannelPreferences
from ledger.application.consent import Client, ConsentFlows
from ledger.application.contacts import ContactRegistry
from ledger.application.dispatch import Dispatcher, RetryPolicy
from ledger.application.guardrails import Guardrails, Limits
from ledger.application.messaging import Messaging, SendRequest
from ledger.composer import Composer
from ledger.message import Message
from ledger.ports import Outgoing, Sender
from ledger.program import new_program
from ledger.vocabulary import Actor, Channel
from projections.outbox import OutboxProjection
from projections.runner import ProjectionRunner
from tests import pii

pytestmark = pytest.mark.integration
STAFF = Actor(kind="user", id="u-1")


class Recorder:
    """A sender that takes its time, and can crash once after taking a message."""

    name = "recorder"

    def __init__(self, crash_once: bool = False) -> None:
        self.calls: list[UUID] = []
        self.crash_once = crash_once

    async def send(self, outgoing: Outgoing) -> str:
        self.calls.append(outgoing.message_id)
        await asyncio.sleep(0.2)
        if self.crash_once:
            self.crash_once = False
            raise RuntimeError("the worker died after the provider took the message")
        return f"P-{outgoing.message_id}"


class World:
    def __init__(self, registry: ContactRegistry, pool: asyncpg.Pool) -> None:
        self.registry = registry
        self.pool = pool
        self.flows = ConsentFlows(registry.repository, registry, HmacCodes(bytes(32)), SystemClock())
        self.composer = Composer(
            registry.repository, registry.sealer, UnsubscribeTokens(bytes(32), "https://x")
        )
        guardrails = Guardrails(PostgresRateLimiter(pool), registry.repository, Limits())
        self.messaging = Messaging(self.composer, self.flows, guardrails)
        self.preferences = ChannelPreferences(registry.repository, self.program_ids)
        self.runner = ProjectionRunner(pool, [OutboxProjection()])

    async def queued(self) -> tuple[UUID, UUID, UUID]:
        program = new_program(
            name="Orders",
            description="",
            purpose="transactional",
            channels=("sms",),
            disclosure="d",
            actor=STAFF,
        )
        await self.registry.repository.save(program)
        contact_id = (await self.registry.register(normalise("sms", pii.phone()), STAFF)).contact_id
        request = SendRequest(contact_id, program.id, kind="transactional", variables={"message": "Shipped"})
        outcome = await self.messaging.send(request, STAFF)
        assert outcome.status == "queued"
        await self.runner.catch_up(self.runner.projections["outbox"])
        return outcome.message_id, contact_id, program.id

    def dispatcher(self, sender: Recorder) -> Dispatcher:
        clock = SystemClock()
        queue = PostgresOutboxQueue(self.pool, clock, lease=timedelta(seconds=30))
        policy = RetryPolicy(max_attempts=3, base=timedelta(milliseconds=50))
        senders: dict[Channel, Sender] = {"sms": sender, "email": sender}
        return Dispatcher(
            self.registry, self.composer, senders, queue, clock, policy, preferences=self.preferences
        )

    async def program_ids(self) -> list[UUID]:
        rows = await self.pool.fetch("SELECT originator_id FROM events WHERE topic = 'optin.created'")
        return [r["originator_id"] for r in rows]


async def test_two_workers_never_take_one_message_at_once(
    registry: ContactRegistry, pool: asyncpg.Pool
) -> None:
    world = World(registry, pool)
    message_id, _, _ = await world.queued()
    sender = Recorder()
    first, second = world.dispatcher(sender), world.dispatcher(sender)
    counts = await asyncio.gather(first.run_once(), second.run_once())
    assert sorted(c for c, _ in counts) == [0, 1]
    assert sender.calls == [message_id]
    message = await registry.repository.get(Message, message_id)
    assert (message.status, message.provider_id) == ("sent", f"P-{message_id}")


async def test_a_crash_after_the_provider_took_it_means_one_more_attempt_with_the_same_id(
    registry: ContactRegistry, pool: asyncpg.Pool
) -> None:
    world = World(registry, pool)
    message_id, _, _ = await world.queued()
    sender = Recorder(crash_once=True)
    worker = world.dispatcher(sender)
    count, errors = await worker.run_once()
    assert count == 1 and isinstance(errors[0][1], RuntimeError)
    assert (await registry.repository.get(Message, message_id)).status == "queued"  # nothing recorded
    await asyncio.sleep(0.1)  # the job is held briefly, then offered again
    await worker.run_once()
    assert sender.calls == [message_id, message_id]  # at least once, one idempotency key
    assert (await registry.repository.get(Message, message_id)).status == "sent"


async def test_consent_withdrawn_after_queueing_cancels_the_message(
    registry: ContactRegistry, pool: asyncpg.Pool
) -> None:
    world = World(registry, pool)
    message_id, contact_id, program_id = await world.queued()
    await world.flows.record_opt_out(contact_id, program_id, "asked by phone", STAFF, Client())
    sender = Recorder()
    await world.dispatcher(sender).run_once()
    assert sender.calls == []
    message = await registry.repository.get(Message, message_id)
    assert (message.status, message.reason) == ("cancelled", "opted_out")
