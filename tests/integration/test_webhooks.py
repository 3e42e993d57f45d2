"""Signed webhooks end to end on real PostgreSQL and a real HTTP receiver that verifies every
delivery with the official Standard Webhooks library: consent changes (masked), erasures,
message statuses per application, retries with one webhook-id, the delivery log, rotation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from adapters.crypto.data_keys import KeyWrapper
from adapters.crypto.sealer import NaclSealer
from adapters.webhooks.secrets import WebhookSecrets
from adapters.webhooks.worker import WebhookWorker
from ledger.address import normalise
from ledger.application.consent import Client
from ledger.application.contacts import ContactRegistry
from ledger.application.webhooks import WebhookRegistry
from ledger.decision import decide_at
from ledger.program import new_program
from ledger.vocabulary import Actor
from ledger.webhook_delivery import DeliveryPolicy
from projections.runner import ProjectionRunner
from projections.webhook_outbox import WebhookOutboxProjection
from tests import pii
from tests.conftest import INDEX_KEY, KEK
from tests.fakes.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.integration
ADMIN = Actor(kind="user", id="admin-1")
APP = Actor(kind="api_key", id="key-1")


class Clock:
    """The real time moved on by `ahead` (so events the database times are due at once)."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


class World:
    def __init__(self, registry: ContactRegistry, pool: asyncpg.Pool, http: httpx.AsyncClient) -> None:
        from adapters.crypto.codes import HmacCodes
        from ledger.application.consent import ConsentFlows

        self.registry, self.pool, self.clock = registry, pool, Clock()
        self.secrets = WebhookSecrets(pool, KEK)
        self.endpoints = WebhookRegistry(registry.repository, self.secrets, self.clock)
        self.flows = ConsentFlows(registry.repository, registry, HmacCodes(bytes(32)), self.clock)
        self.projection = WebhookOutboxProjection(KeyWrapper(KEK), NaclSealer(INDEX_KEY))
        self.runner = ProjectionRunner(pool, [self.projection])
        self.worker = WebhookWorker(
            pool, self.secrets, http, self.clock, DeliveryPolicy(base=timedelta(seconds=5))
        )

    async def deliver(self) -> int:
        await self.runner.catch_up(self.projection)
        return await self.worker.run_once()

    async def opted_out(self) -> tuple[str, object, object]:
        program = new_program(
            name="Offers", description="", purpose="marketing", channels=("sms",), disclosure="d", actor=ADMIN
        )
        await self.registry.repository.save(program)
        phone = pii.phone()
        contact_id = (await self.registry.register(normalise("sms", phone), ADMIN)).contact_id
        await self.flows.record_opt_out(contact_id, program.id, "asked by phone", ADMIN, Client())
        return phone, contact_id, program.id


@pytest.fixture
async def world(registry: ContactRegistry, pool: asyncpg.Pool) -> AsyncIterator[World]:
    async with httpx.AsyncClient() as http:
        yield World(registry, pool, http)


async def test_a_consent_change_arrives_signed_masked_and_verified(world: World) -> None:
    with webhook_receiver() as receiver:
        issued = await world.endpoints.register(None, receiver.url, ("consent.changed",), ADMIN)
        receiver.secrets.append(issued.secret)
        assert issued.secret.startswith("whsec_")
        phone, contact_id, optin_id = await world.opted_out()
        assert await world.deliver() == 1
    [got] = receiver.received
    assert got.verified_by == [issued.secret]
    assert got.headers["webhook-signature"].startswith("v1,")
    body = got.json
    assert body["type"] == "consent.changed"
    data = body["data"]
    assert (data["contact_id"], data["optin_id"], data["channel"]) == (str(contact_id), str(optin_id), "sms")
    assert data["decision"]["status"] == "opted_out" and data["decision"]["topic"] == "consent.withdrawn"
    assert data["cause"]["source"] == "admin"
    assert phone not in got.body.decode() and phone[-3:] in data["address"] and "*" in data["address"]
    # The decision is the one the ledger gives.
    history = [
        (r.notification_id, r.recorded_at, world.registry.repository.mapper.to_domain_event(r.stored()))
        for r in await world.registry.repository.store.read_after(0, 1000)
    ]
    assert data["decision"]["position"] == decide_at(history).position


async def test_an_endpoint_gets_only_events_after_it_was_registered(world: World) -> None:
    await world.opted_out()
    with webhook_receiver() as receiver:
        await world.endpoints.register(None, receiver.url, ("consent.changed",), ADMIN)
        assert await world.deliver() == 0
        assert receiver.received == []


def attempts(outcome: str) -> float:
    return REGISTRY.get_sample_value("optin_webhook_deliveries_total", {"outcome": outcome}) or 0.0


async def test_failures_are_retried_with_the_same_webhook_id_and_logged(world: World) -> None:
    retried, delivered = attempts("retrying"), attempts("delivered")
    with webhook_receiver() as receiver:
        issued = await world.endpoints.register(None, receiver.url, ("consent.changed",), ADMIN)
        receiver.secrets.append(issued.secret)
        receiver.answers = [500, 503]
        await world.opted_out()
        assert await world.deliver() == 1
        assert await world.worker.run_once() == 0  # not due yet: backing off
        # Real time, not a clock moved on: the receiver's library refuses timestamps 5 minutes off.
        world.worker.policy = DeliveryPolicy(base=timedelta(milliseconds=100))
        await world.pool.execute("UPDATE webhook_deliveries SET due_at = now()")
        assert await world.worker.run_once() == 1
        await asyncio.sleep(0.3)
        assert await world.worker.run_once() == 1
    assert len(receiver.received) == 3
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert all(r.verified_by for r in receiver.received)
    log = await world.pool.fetch("SELECT attempt, status_code FROM webhook_attempts ORDER BY attempt")
    assert [(r["attempt"], r["status_code"]) for r in log] == [(1, 500), (2, 503), (3, 204)]
    status = await world.pool.fetchval("SELECT status FROM webhook_deliveries")
    assert status == "delivered"
    assert (attempts("retrying") - retried, attempts("delivered") - delivered) == (2, 1)  # /metrics


async def test_an_unreachable_endpoint_fails_after_the_last_attempt(world: World, pool: asyncpg.Pool) -> None:
    world.worker.policy = DeliveryPolicy(max_attempts=2, base=timedelta(seconds=1))
    await world.endpoints.register(None, "http://127.0.0.1:9/nobody", ("consent.changed",), ADMIN)
    await world.opted_out()
    assert await world.deliver() == 1
    world.clock.ahead += timedelta(minutes=1)
    assert await world.worker.run_once() == 1
    row = await pool.fetchrow("SELECT status, attempts, last_error FROM webhook_deliveries")
    assert row is not None
    assert (row["status"], row["attempts"]) == ("failed", 2) and row["last_error"]


async def test_during_a_rotation_both_secrets_sign_then_only_the_new_one(world: World) -> None:
    with webhook_receiver() as receiver:
        first = await world.endpoints.register(None, receiver.url, ("consent.changed",), ADMIN)
        second = await world.endpoints.rotate(first.endpoint.id, timedelta(seconds=2), ADMIN, None)
        receiver.secrets = [first.secret, second.secret]
        await world.opted_out()
        await world.deliver()
        await asyncio.sleep(2.1)  # the overlap ends (real time: the receiver checks timestamps)
        await world.opted_out()
        await world.deliver()
    during, after = receiver.received
    assert during.verified_by == [first.secret, second.secret]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert after.verified_by == [second.secret]


async def test_message_status_goes_to_the_application_that_sent_it(world: World) -> None:
    import uuid

    from ledger.message import Basis, Sealed, request_message

    with webhook_receiver() as mine, webhook_receiver() as theirs:
        await world.endpoints.register("api_key:key-1", mine.url, ("message.status",), APP)
        await world.endpoints.register("api_key:key-2", theirs.url, ("message.status",), APP)
        message = request_message(
            uuid.uuid4(), contact_id=uuid.uuid4(), channel="sms", kind="transactional",
            purpose="transactional", optin_id=None, idempotency_key="k", actor=APP,
        )  # fmt: skip
        message.queue(Basis(rule="transactional"), None, Sealed(text=b"x", variables=b"y"), "p", None, False)
        message.sent("dev", "P-1", world.clock.now())
        await world.registry.repository.save(message)
        await world.deliver()
    # Deliveries go side by side, so in any order; each names its ledger position.
    got = sorted(mine.received, key=lambda r: int(r.json["data"]["position"]))
    assert [r.json["data"]["status"] for r in got] == ["queued", "sent"]
    assert theirs.received == []


async def test_erasure_is_reported_and_a_removed_endpoint_gets_nothing_more(world: World) -> None:
    with webhook_receiver() as receiver:
        issued = await world.endpoints.register(None, receiver.url, ("contact.erased",), ADMIN)
        _, contact_id, _ = await world.opted_out()
        await world.registry.erase(contact_id, ADMIN)  # type: ignore[arg-type]
        await world.deliver()
        await world.endpoints.remove(issued.endpoint.id, ADMIN, None)
        _, other, _ = await world.opted_out()
        await world.registry.erase(other, ADMIN)  # type: ignore[arg-type]
        await world.deliver()
    assert [r.json["data"]["contact_id"] for r in receiver.received] == [str(contact_id)]
