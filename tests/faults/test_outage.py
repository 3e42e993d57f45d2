"""The database goes away under a running `serve` and comes back.

During the outage every request is answered 503 problem+json with `Retry-After` (never a 500),
`/ready` says the database is unreachable, and the log says so once; when it comes back the log
says so once more, with how long it lasted and how many requests were refused, and the projection
runner and the outbox worker (in-process) are at work again within a second. Nothing that was
acknowledged is missing and the chain still verifies.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from uuid import UUID

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.postgres.event_store import read_after
from tests import pii
from tests.faults.service import DatabaseSwitch, Service, start_service
from tests.integration.test_event_store import verify

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 4.0  # long enough that the old backoff (0.1 s doubling) had reached 3.2 s


async def register(client: httpx.AsyncClient) -> tuple[UUID, int]:
    answer = await client.post("/v1/contacts", json={"channel": "email", "address": pii.email()})
    assert answer.status_code == 201, answer.text
    return UUID(answer.json()["id"]), int(answer.headers["ledger-position"])


async def refused_during(client: httpx.AsyncClient, known: UUID, seconds: float) -> int:
    """Reads, writes and public calls, again and again: each must be a 503 problem with
    Retry-After; `/ready` must say "unreachable". Returns how many were refused (not `/ready`)."""
    refused = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for answer in await asyncio.gather(
            client.post("/v1/contacts", json={"channel": "email", "address": pii.email()}),
            client.get(f"/v1/contacts/{known}"),
            client.post("/v1/public/verifications", json={"channel": "email", "address": pii.email()}),
        ):
            assert answer.status_code == 503, (answer.request.url, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert int(answer.headers["retry-after"]) >= 1
            assert answer.json()["status"] == 503
            refused += 1
        ready = await client.get("/ready", headers={"Authorization": ""})  # as a probe asks
        assert ready.status_code == 503
        assert ready.json()["database"] == "unreachable", ready.text
        await asyncio.sleep(0.05)
    return refused


async def until(check: object, timeout: float, every: float = 0.01) -> float:
    """Poll the async `check` until it is true; return the monotonic time it first was."""
    deadline = time.monotonic() + timeout
    while True:
        if await check():  # type: ignore[operator]
            return time.monotonic()
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(every)


async def test_an_outage_is_503_with_retry_after_two_log_lines_and_an_immediate_recovery(
    admin_dsn: str, database_url: str, tmp_path: Path
) -> None:
    service = await start_service(database_url, tmp_path / "data")
    switch = DatabaseSwitch(admin_dsn, database_url)
    acknowledged: dict[UUID, int] = {}
    try:
        async with httpx.AsyncClient(base_url=service.url, headers=service.auth, timeout=15) as client:
            for _ in range(5):
                contact, position = await register(client)
                acknowledged[contact] = position

            mark = len(service.lines())
            await switch.take_away()
            refused = await refused_during(client, contact, OUTAGE_SECONDS)
            await switch.give_back()
            back = time.monotonic()

            resumed = await recovery(service, client, database_url, acknowledged)
            counted = await metrics(service)
    finally:
        service.stop()

    projected, sent = resumed[0] - back, resumed[1] - back
    print(
        f"refused {refused}; read models {projected:.3f} s, outbox {sent:.3f} s after the database came back"
    )
    assert projected < 1.0, f"read models caught up {projected:.2f} s after the database came back"
    assert sent < 1.0, f"the outbox worker sent {sent:.2f} s after the database came back"
    assert_logged_once_each_way(service, refused, mark)
    assert counted == {"optin_database_outages_total": 1.0, "unreachable": float(refused)}
    await assert_nothing_lost(database_url, acknowledged)


async def recovery(
    service: Service, client: httpx.AsyncClient, dsn: str, acknowledged: dict[UUID, int]
) -> tuple[float, float]:
    """A write and a code request right after the database is back: when the read models
    reached the write, and when the outbox worker had sent the code."""
    conn = await asyncpg.connect(dsn)
    try:
        outboxed = int(await conn.fetchval("SELECT count(*) FROM dev_outbox"))
        write = await client.post("/v1/contacts", json={"channel": "email", "address": pii.email()})
        assert write.status_code == 201, write.text  # the first request after the outage succeeds
        acknowledged[UUID(write.json()["id"])] = position = int(write.headers["ledger-position"])
        code = await client.post(
            "/v1/public/verifications", json={"channel": "email", "address": pii.email()}
        )
        assert code.status_code == 202, code.text

        async def caught_up() -> bool:
            low = await conn.fetchval("SELECT min(position) FROM projection_tracking")
            return bool(low is not None and low >= position)

        async def code_sent() -> bool:
            return bool(await conn.fetchval("SELECT count(*) FROM dev_outbox") > outboxed)

        projected = await until(caught_up, 10)
        sent = await until(code_sent, 10)
        ready = await client.get("/ready", headers={"Authorization": ""})
        assert ready.status_code == 200, ready.text
        return projected, sent
    finally:
        await conn.close()


async def metrics(service: Service) -> dict[str, float]:
    """The outage counters `serve` publishes (on the metrics port its log names)."""
    url = next(line["url"] for line in service.lines() if str(line.get("url", "")).endswith("/metrics"))
    async with httpx.AsyncClient() as client:
        text = (await client.get(url)).text
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "optin_database_outages_total":
                found[sample.name] = sample.value
            if sample.name == "optin_database_refused_requests_total":
                found[sample.labels["reason"]] = sample.value
    return found


def assert_logged_once_each_way(service: Service, refused: int, mark: int) -> None:
    """From the outage on, exactly two lines above `info`: when it began and when it ended."""
    lines = service.lines()
    loud = [line for line in lines[mark:] if line.get("level") not in ("info", "debug")]
    assert [line["event"] for line in loud][:1] == ["database unavailable"], loud
    assert len(loud) == 2, loud
    down = [line for line in lines if line["event"] == "database unavailable"]
    up = [line for line in lines if str(line["event"]).startswith("database back after")]
    assert len(down) == 1, down
    assert len(up) == 1, up
    assert up[0]["refused_requests"] == refused, (up[0], refused)
    assert up[0]["outage_seconds"] >= OUTAGE_SECONDS
    noisy = [
        line
        for line in lines
        if line is not down[0]
        and (line.get("level") in ("error", "critical", "raw") or "exception" in line or "exc_info" in line)
    ]
    assert not noisy, noisy[:3]
    assert "Traceback" not in service.log.read_text()


async def assert_nothing_lost(dsn: str, acknowledged: dict[UUID, int]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await read_after(conn, 0, 1_000_000)
        assert verify(rows) is None
        by_stream = {r.originator_id: r.notification_id for r in rows if r.originator_version == 1}
        for contact, position in acknowledged.items():
            assert by_stream.get(contact) == position, contact
        listed = {r["id"] for r in await conn.fetch("SELECT id FROM contacts")}
        assert set(acknowledged) <= listed
    finally:
        await conn.close()
