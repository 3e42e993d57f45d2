"""The outbox worker killed mid-send (kill -9 after the SMS provider took the message, before its
answer): the message goes out again at most once more, with the same idempotency key, so the
provider keeps one message; the ledger records it sent once."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests import pii
from tests.chaos.processes import Service, command, environment, postgres_dsn, wait_until
from tests.fakes.twilio import NUMBER, SID, TOKEN, Provider, twilio_server

pytestmark = pytest.mark.chaos


@pytest.fixture
def twilio() -> Iterator[tuple[Provider, str]]:
    yield from twilio_server()


async def query(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def test_a_worker_killed_mid_send_sends_once_more_with_the_same_key(
    data_dir: Path, tmp_path: Path, twilio: tuple[Provider, str]
) -> None:
    provider, url = twilio
    provider.answer_delay = 30.0  # it takes the message, then holds its answer: the worker waits
    env = environment(
        OPTIN_SMS_API_URL=url, OPTIN_SMS_ACCOUNT_SID=SID, OPTIN_SMS_AUTH_TOKEN=TOKEN, OPTIN_SMS_FROM=NUMBER
    )
    service = Service(data_dir, tmp_path / "serve.log").start("--no-worker", env=env)
    log = tmp_path / "worker.log"
    try:
        asked = httpx.post(
            service.url + "/v1/public/verifications", json={"channel": "sms", "address": pii.phone()}
        )
        assert asked.status_code == 202, asked.text
        worker = command(data_dir, log, "worker", env=env)
        wait_until(lambda: len(provider.requests) == 1, 60, "the worker to hand the code over")
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(30) == -signal.SIGKILL
        key = provider.requests[0]["headers"]["idempotency-key"]
        dsn = postgres_dsn(data_dir)
        sent = "SELECT count(*) FROM events WHERE originator_id = $1::uuid AND topic = 'message.sent'"
        assert asyncio.run(query(dsn, sent, key))[0][0] == 0  # taken by the provider, not recorded

        # Its lease (a minute) is what brings the job back to a worker: let that minute pass.
        asyncio.run(query(dsn, "UPDATE outbox SET leased_until = now() WHERE id = $1::uuid", key))
        provider.answer_delay = 0.0
        worker = command(data_dir, log, "worker", env=env)
        wait_until(lambda: asyncio.run(query(dsn, sent, key))[0][0] == 1, 60, "the retry to be recorded")
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    finally:
        service.stop()
    attempts = provider.requests_for(key)
    assert len(attempts) == 2, provider.requests  # the first, and exactly one more
    assert len(provider.accepted) == 1  # the provider took one message: the retry had its key
    assert pii.leaks(log.read_text()) == [] and pii.leaks(service.output()) == []
