"""Revocation in any words and opt-out deadlines, end to end: SMS replies through the signed
webhook, the console's review queue (confirm, dismiss), and a message forced out after an opt-out
showing on the dashboard and in the alert figures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg
import msgspec
import pytest

from adapters.metrics import serve_metrics
from adapters.postgres.event_store import PostgresEventStore
from adapters.settings import Settings
from api.composition import Components
from ledger.message import Basis, Sealed, request_message
from ledger.repository import Repository
from ledger.vocabulary import Actor
from projections.health import sample
from projections.runner import wait_for_position
from tests import pii
from tests.api.channels import Client, contact, program
from tests.api.conftest import AuthHeaders
from tests.api.test_metrics import delta, scrape
from tests.api.test_sms_channel import PUBLIC, reply, status, texts
from tests.fakes.twilio import NUMBER, SID, TOKEN, Provider, twilio_server
from tests.web.conftest import csrf_of
from tests.web.test_console_pages import log_in

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def metrics_url() -> str:
    bound = serve_metrics("127.0.0.1", 0)
    assert bound is not None
    return f"http://{bound[0]}:{bound[1]}/metrics"


@pytest.fixture
def provider_and_url() -> Iterator[tuple[Provider, str]]:
    yield from twilio_server()


@pytest.fixture
def provider(provider_and_url: tuple[Provider, str]) -> Provider:
    return provider_and_url[0]


@pytest.fixture
def settings(settings: Settings, provider_and_url: tuple[Provider, str]) -> Settings:
    return msgspec.structs.replace(
        settings, sms_api_url=provider_and_url[1], sms_account_sid=SID, sms_auth_token=TOKEN,
        sms_from=NUMBER, public_url=PUBLIC,
    )  # fmt: skip


async def test_replies_in_other_words_opt_out_or_wait_for_staff(
    client: Client,
    provider: Provider,
    auth_headers: AuthHeaders,
    auth_services: Components,
    pool: asyncpg.Pool,
    metrics_url: str,
) -> None:
    before = scrape(metrics_url)
    staff = await auth_headers("staff")
    orders = await program(client, staff, ["sms"], purpose="transactional", name="Orders")
    plain, doubtful, other = pii.phone(), pii.phone(), pii.phone()
    people = {n: await contact(client, staff, "sms", n) for n in (plain, doubtful, other)}

    await reply(client, plain, "Please stop texting me!", "SMrev1")
    assert await status(client, staff, orders, people[plain]) == "opted_out"  # at once, as STOP
    await texts(provider, plain, 1)  # the same one confirmation STOP gets
    timeline = await client.get(f"/v1/contacts/{people[plain]}/timeline", headers=staff)
    assert "channel.opted_out" in timeline.text and "stop texting" not in timeline.text.lower()

    await reply(client, doubtful, "stop by the store later?", "SMrev2")
    await reply(client, doubtful, "stop by the store later?", "SMrev2")  # a retried webhook
    await reply(client, other, "can I cancel my order?", "SMrev3")
    assert await status(client, staff, orders, people[doubtful]) != "opted_out"
    screened = scrape(metrics_url)
    assert delta(screened, before, "optin_revocation_replies_total", verdict="revoke") == 1
    assert delta(screened, before, "optin_revocation_replies_total", verdict="review") == 3  # one retried

    await log_in(client, auth_services, pool, "staff")
    head = (await client.get("/ready")).json()["ledger_position"]
    await wait_for_position(pool, head, ["revocation_reviews", "contacts"])
    queue = await client.get("/console/revocations")
    assert queue.status_code == 200
    assert "stop by the store later?" in queue.text and "can I cancel my order?" in queue.text
    assert queue.text.count("Confirm opt-out</button>") == 2  # one review per inbound message
    assert doubtful not in queue.text  # addresses masked
    review_ids = await pool.fetch("SELECT id, contact_id FROM revocation_reviews ORDER BY received_at")
    by_contact = {str(r["contact_id"]): r["id"] for r in review_ids}

    token = csrf_of(queue.text)
    confirmed = await client.post(
        f"/console/revocations/{by_contact[people[doubtful]]}/confirm", data={"_csrf_token": token}
    )
    assert confirmed.status_code == 200 and "opted out" in confirmed.text
    assert await status(client, staff, orders, people[doubtful]) == "opted_out"
    dismissed = await client.post(
        f"/console/revocations/{by_contact[people[other]]}/dismiss",
        data={"_csrf_token": csrf_of(confirmed.text), "note": "asking about an order"},
    )
    assert dismissed.status_code == 200 and "No replies are waiting" in dismissed.text
    assert await status(client, staff, orders, people[other]) != "opted_out"


async def test_a_message_sent_after_an_opt_out_shows_on_the_dashboard(
    client: Client, auth_headers: AuthHeaders, auth_services: Components, pool: asyncpg.Pool,
    store: PostgresEventStore, metrics_url: str,
) -> None:  # fmt: skip
    staff = await auth_headers("staff")
    offers = await program(client, staff, ["sms"])
    person = await contact(client, staff, "sms", pii.phone())
    out = await client.post(
        "/v1/consent-requests",
        json={"optin_id": offers, "contact_id": person, "action": "opt_out", "source": "admin",
              "reason": "asked by phone"},
        headers=staff,
    )  # fmt: skip
    assert out.status_code in (200, 201, 202), out.text
    before = await client.get(
        "/v1/admin/compliance", params={"min_position": out.headers["ledger-position"]}, headers=staff
    )
    assert before.json()["sent_after_optout"] == 0 and before.json()["alert"] is False
    assert before.json()["optouts"] == before.json()["optouts_honoured"] >= 1

    # Force one: a sender that ignored the ledger (the policy would have refused this message).
    forced = request_message(
        uuid.uuid4(), contact_id=uuid.UUID(person), channel="sms", kind="promotional", purpose="marketing",
        optin_id=uuid.UUID(offers), idempotency_key=None, actor=Actor(kind="system", id="rogue"),
    )  # fmt: skip
    forced.queue(
        Basis(rule="marketing_consent"), None, Sealed(text=b"x", variables=b"y"), "Sale", None, False
    )
    forced.sent("rogue", "R-1", datetime.now(UTC))
    position = await Repository(store).save(forced)

    after = await client.get("/v1/admin/compliance", params={"min_position": position}, headers=staff)
    body = after.json()
    assert body["sent_after_optout"] == 1 and body["alert"] is True
    assert body["violations"][0]["message_id"] == str(forced.id)
    assert body["optouts_honoured"] == body["optouts"] - 1
    await sample(pool, [])
    gauges = scrape(metrics_url)  # the alert metric, as Prometheus scrapes it
    assert gauges[("optin_messages_sent_after_optout", ())] == 1
    assert gauges[("optin_optouts_honoured", ())] == body["optouts"] - 1

    await log_in(client, auth_services, pool, "staff")
    dashboard = await client.get("/console")
    assert dashboard.status_code == 200
    assert "1 message(s) sent after an opt-out" in dashboard.text
    assert 'id="sent-after-optout">1<' in dashboard.text
