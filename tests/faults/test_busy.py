"""No connection to spare: requests wait a bounded time, then 503; background work goes on.

Two ways to run out, on a real `serve` process: the server refuses the service more sessions
(a role's connection limit), and every pooled connection of the API is held by requests that
wait on a lock. Neither is a 500, `/ready` says "busy" (not "unreachable"), and the projection
runner and the outbox worker, on connections of their own, keep up meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from uuid import UUID

import asyncpg
import httpx
import pytest

from adapters.postgres.pool import create_pool
from api.composition import compose
from tests import pii
from tests.faults.service import LimitedLogin, start_service
from tests.faults.test_outage import register, until

pytestmark = pytest.mark.integration


async def test_at_the_connection_limit_requests_wait_for_a_pooled_connection(
    admin_dsn: str, database_url: str, tmp_path: Path
) -> None:
    async with LimitedLogin(admin_dsn, database_url) as login:
        service = await start_service(database_url, tmp_path / "data", login_dsn=login.login_dsn)
        try:
            async with httpx.AsyncClient(base_url=service.url, headers=service.auth, timeout=30) as client:
                contact, _ = await register(client)
                await login.limit(await login.sessions())  # not one session more than it has
                answers = await asyncio.gather(*(client.get(f"/v1/contacts/{contact}") for _ in range(60)))
                ready = await client.get("/ready", headers={"Authorization": ""})
        finally:
            service.stop()
    statuses = [a.status_code for a in answers]
    assert statuses == [200] * len(answers), statuses  # waited for the connections it had: no 500s
    assert ready.json()["database"] in ("ok", "busy"), ready.text
    assert not [line for line in service.lines() if line.get("level") in ("error", "critical", "raw")]


async def test_with_every_api_connection_held_requests_get_503_and_background_work_goes_on(
    admin_dsn: str, database_url: str, tmp_path: Path
) -> None:
    # 10 connections: 3 for requests, 7 for the runner, the tree follower, the worker and sampling.
    service = await start_service(
        database_url, tmp_path / "data", OPTIN_DB_POOL_MAX="10", OPTIN_DB_POOL_WAIT="1"
    )
    locker = await asyncpg.connect(database_url)
    try:
        async with httpx.AsyncClient(base_url=service.url, headers=service.auth, timeout=30) as client:
            contact, _ = await register(client)
            async with locker.transaction():
                # Registrations now wait on the lookup table, each holding an API connection.
                await locker.execute("LOCK TABLE contact_lookup IN SHARE MODE")
                writes = [
                    asyncio.create_task(
                        client.post("/v1/contacts", json={"channel": "email", "address": pii.email()})
                    )
                    for _ in range(12)
                ]
                await asyncio.sleep(1.5)  # longer than OPTIN_DB_POOL_WAIT
                ready = await client.get("/ready", headers={"Authorization": ""})
                sent_after = await code_sent_while_blocked(service.settings, database_url, contact)
            answers = await asyncio.gather(*writes)
    finally:
        await locker.close()
        service.stop()

    assert ready.status_code == 503
    assert (ready.json()["status"], ready.json()["database"]) == ("busy", "busy"), ready.text
    print(f"code sent {sent_after:.3f} s after it was asked for, with every API connection held")
    assert sent_after < 2.0, f"the code went out {sent_after:.2f} s after it was asked for"
    refused = [a for a in answers if a.status_code == 503]
    assert {a.status_code for a in answers} <= {201, 503}, [a.text for a in answers]
    assert refused and len(refused) < len(answers)
    for answer in refused:
        assert answer.headers["retry-after"] == "1"
        assert answer.headers["content-type"].startswith("application/problem+json")
    lines = service.lines()
    assert len([line for line in lines if line["event"].startswith("database busy")]) == 1
    assert not [line for line in lines if line.get("level") in ("error", "critical", "raw")]


async def code_sent_while_blocked(settings: object, dsn: str, contact: UUID) -> float:
    """Ask for a code for `contact` from outside the service; seconds until its worker sent it."""
    pool = await create_pool(dsn, role="optin_app", min_size=1, max_size=2)
    parts = compose(settings, pool)  # type: ignore[arg-type]
    conn = await asyncpg.connect(dsn)
    try:
        before = int(await conn.fetchval("SELECT count(*) FROM dev_outbox"))
        asked = time.monotonic()
        await parts.flows.start_self_service(contact)

        async def sent() -> bool:
            return int(await conn.fetchval("SELECT count(*) FROM dev_outbox")) > before

        return await until(sent, 10) - asked
    finally:
        await conn.close()
        await parts.close()
        await pool.close()
