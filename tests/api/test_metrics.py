"""`/metrics` on its own port, scraped over HTTP and parsed with prometheus_client's own parser,
after the app appended, checked consent, sent codes over SMS, refused one and took webhooks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.metrics import serve_metrics
from adapters.postgres.event_store import PostgresEventStore
from adapters.settings import Settings
from adapters.sms.signature import twilio_signature
from ledger.ports import StoredEvent
from projections.catalog import all_projections
from projections.health import sample
from tests import pii
from tests.api.channels import Client, ask, contact, eventually, program
from tests.api.conftest import AuthHeaders
from tests.fakes.twilio import NUMBER, SID, TOKEN, Provider, twilio_server

pytestmark = pytest.mark.integration
PUBLIC = "https://optin.example.org"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def provider_and_url() -> Iterator[tuple[Provider, str]]:
    yield from twilio_server()


@pytest.fixture
def settings(settings: Settings, provider_and_url: tuple[Provider, str]) -> Settings:
    return msgspec.structs.replace(
        settings,
        sms_api_url=provider_and_url[1],
        sms_account_sid=SID,
        sms_auth_token=TOKEN,
        sms_from=NUMBER,
        public_url=PUBLIC,
    )


@pytest.fixture(scope="module")
def metrics_url() -> str:
    bound = serve_metrics("127.0.0.1", 0)
    assert bound is not None
    return f"http://{bound[0]}:{bound[1]}/metrics"


def scrape(url: str) -> Samples:
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_metrics_cover_writes_reads_codes_sends_and_webhooks(
    client: Client, auth_headers: AuthHeaders, pool: asyncpg.Pool, metrics_url: str
) -> None:
    before = scrape(metrics_url)
    staff = await auth_headers("staff")
    optin = await program(client, staff, ["sms"])
    person = await contact(client, staff, "sms", pii.phone())
    await ask(client, staff, optin, person)
    query = {"optin_id": optin, "channel": "sms", "contact_id": person}
    assert (await client.get("/v1/consent", params=query, headers=staff)).status_code == 200
    checked = await client.post("/v1/consent/check", json={"items": [query]}, headers=staff)
    assert checked.status_code == 200, checked.text
    foreign = pii.remember("+442079460958")  # a country the service may not text
    refused = await client.post("/v1/public/verifications", json={"channel": "sms", "address": foreign})
    assert refused.status_code == 422, refused.text
    path, params = (
        "/v1/webhooks/sms/status",
        {"AccountSid": SID, "MessageSid": "SM1", "MessageStatus": "sent"},
    )
    forged = await client.post(path, data=params, headers={"X-Twilio-Signature": "forged"})
    assert forged.status_code == 403
    signed = {"X-Twilio-Signature": twilio_signature(TOKEN, PUBLIC + path, params)}
    await client.post(path, data=params, headers=signed)

    async def sent_and_refused() -> Samples | None:
        now = scrape(metrics_url)
        sent = delta(now, before, "optin_sends_total", channel="sms", outcome="sent")
        refused = delta(
            now, before, "optin_code_requests_total", kind="public", outcome="country_not_allowed"
        )
        return now if sent >= 1 and refused >= 1 else None

    after = await eventually(sent_and_refused)
    assert delta(after, before, "optin_code_requests_total", kind="staff", outcome="allowed") == 1
    assert delta(after, before, "optin_consent_check_seconds_count", kind="single") == 1
    assert delta(after, before, "optin_consent_check_seconds_count", kind="bulk") == 1
    assert delta(after, before, "optin_webhook_verifications_total", result="invalid") == 1
    assert delta(after, before, "optin_webhook_verifications_total", result="valid") == 1
    appends = delta(after, before, "optin_append_seconds_count")
    assert appends >= 4  # program, contact, request, code sent (and the refusal)
    assert delta(after, before, "optin_append_seconds_bucket", le="+Inf") == appends
    batches = delta(after, before, "optin_append_batch_events_count")
    assert 1 <= batches <= appends
    assert delta(after, before, "optin_append_batch_events_sum") >= appends


async def test_a_batch_chained_again_in_the_database_is_counted(pool: asyncpg.Pool, metrics_url: str) -> None:
    """Two stores on one ledger, as two replicas: the second's append moves the head the first
    predicted, so the first's next batch is chained again in the database."""
    before = scrape(metrics_url)
    a, b = PostgresEventStore(pool), PostgresEventStore(pool)
    await a.append([StoredEvent(uuid.uuid4(), 1, "test.happened", b"{}")])
    await b.append([StoredEvent(uuid.uuid4(), 1, "test.happened", b"{}")])
    await a.append([StoredEvent(uuid.uuid4(), 1, "test.happened", b"{}")])
    after = scrape(metrics_url)
    assert delta(after, before, "optin_append_batches_rechained_total") == 1
    assert delta(after, before, "optin_append_batches_resent_total") == 0


async def test_gauges_show_the_head_projection_lag_and_outbox_depth(
    client: Client, settings: Settings, pool: asyncpg.Pool, auth_headers: AuthHeaders, metrics_url: str
) -> None:
    staff = await auth_headers("staff")
    await program(client, staff, ["sms"])
    names = [p.name for p in all_projections(settings)]
    # Hold one projection back (its runner lock), so it lags while the others catch up.
    async with pool.acquire() as blocker:
        await blocker.execute("SELECT pg_advisory_lock(hashtext('projection:optins'))")
        await program(client, staff, ["sms"], name="Later", seen=False)
        await asyncio.sleep(0.3)
        await sample(pool, names)
        held = scrape(metrics_url)
        await blocker.execute("SELECT pg_advisory_unlock(hashtext('projection:optins'))")
    head = int(await pool.fetchval("SELECT position FROM ledger_head"))
    assert held[("optin_ledger_head_position", ())] == head
    assert held[("optin_projection_lag_events", (("projection", "optins"),))] >= 1
    assert held[("optin_projection_lag_seconds", (("projection", "optins"),))] > 0
    assert held[("optin_outbox_depth", (("channel", "sms"),))] >= 0
    assert ("optin_outbox_oldest_due_seconds", ()) in held

    async def caught_up() -> Samples | None:
        await sample(pool, names)
        now = scrape(metrics_url)
        return now if now[("optin_projection_lag_events", (("projection", "optins"),))] == 0 else None

    now = await eventually(caught_up)
    assert now[("optin_projection_lag_seconds", (("projection", "optins"),))] == 0
