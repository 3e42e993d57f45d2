"""`bench consent`: consent checks over HTTP against a bare Litestar + asyncpg endpoint, same run.

Both servers run in this process, one at a time, on the same scratch schema; the load comes from
a separate client process (`api.bench.load`) with 32 keep-alive connections. The baseline answers
the same query string with one primary-key SELECT on the same table; the service answers through
its whole stack (authentication, guards, validation, problem details, access log). The two take
turns for `rounds` rounds (`api.bench.rounds`): the ratios are medians of the rounds' ratios.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import msgspec
import uvicorn
from litestar import Litestar, get

from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool, light_reset
from adapters.settings import Settings
from api.app import create_app
from api.bench.rounds import alternate, compare
from api.bench.scratch import scratch_schema
from api.composition import compose
from ledger.address import normalise
from ledger.application.evidence import Client
from ledger.program import new_program
from ledger.vocabulary import SYSTEM
from projections.catalog import all_projections
from projections.runner import ProjectionRunner


def _scoped(dsn: str, schema: str) -> str:
    # asyncpg passes unknown DSN query parameters on as server settings.
    return dsn + ("&" if "?" in dsn else "?") + f"search_path={schema}"


async def _populate(settings: Settings, dsn: str, contacts: int) -> tuple[uuid.UUID, list[uuid.UUID], str]:
    """Contacts with a consent row each, and an API key of a service account (as apps call)."""
    assert settings.kek
    assert settings.index_key
    assert settings.token_key
    pool = await create_pool(dsn, role=settings.db_role, min_size=2, max_size=8)
    parts = compose(settings, pool, follow=False)
    repo, registry, flows = parts.repository, parts.contacts, parts.flows
    try:
        program = new_program(
            name="Bench",
            description="",
            purpose="marketing",
            channels=("email",),
            disclosure="d",
            actor=SYSTEM,
        )
        await repo.save(program)
        ids: list[uuid.UUID] = []
        semaphore = asyncio.Semaphore(32)

        async def one(n: int) -> None:
            async with semaphore:
                address = normalise("email", f"bench{n}@bench.example.org")
                contact = (await registry.register(address, SYSTEM)).contact_id
                await flows.record_opt_out(contact, program.id, "bench", SYSTEM, Client())
                ids.append(contact)

        await asyncio.gather(*(one(n) for n in range(contacts)))
        service, _ = await parts.accounts.create(
            email="bench-service@bench.example.org", role="service", password=None, actor=SYSTEM
        )
        issued = await parts.accounts.issue_api_key(service.id, SYSTEM)
        runner = ProjectionRunner(pool, all_projections(settings), batch_size=5000)
        for projection in runner.projections.values():
            await runner.catch_up(projection)
        return program.id, ids, issued.key.secret
    finally:
        await parts.close()
        await pool.close()


def _baseline(dsn: str) -> Litestar:
    state: dict[str, asyncpg.Pool] = {}

    async def start() -> None:
        # Released as the service's pools release (no reset round trip): the same cost a query.
        state["pool"] = await asyncpg.create_pool(dsn, min_size=4, max_size=20, reset=light_reset)

    async def stop() -> None:
        await state["pool"].close()

    @get("/check", sync_to_thread=False)
    async def check(contact_id: uuid.UUID, optin_id: uuid.UUID, channel: str) -> dict[str, Any]:
        row = await state["pool"].fetchrow(
            "SELECT status, since, event_position FROM consent_state "
            "WHERE contact_id = $1 AND optin_id = $2 AND channel = $3",
            contact_id,
            optin_id,
            channel,
        )
        return {"status": row["status"] if row else "unknown"}

    # logging_config=None: Litestar's default would reconfigure the process's logging.
    return Litestar([check], on_startup=[start], on_shutdown=[stop], openapi_config=None, logging_config=None)


@contextlib.asynccontextmanager
async def _serving(app: Litestar) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a free local port for the duration; yield its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, proxy_headers=False
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def _load(
    app: Litestar, paths: list[str], headers: dict[str, str], seconds: float, connections: int
) -> dict[str, Any]:
    async with _serving(app) as url:
        return await checks_load(url, paths, headers, seconds, connections)


async def checks_load(
    url: str, paths: list[str], headers: dict[str, str], seconds: float, connections: int
) -> dict[str, Any]:
    """The load client (`api.bench.load`, its own process) on a running server's GET `paths`."""
    async with httpx.AsyncClient() as warm:  # one request first, so caches and plans are warm
        await warm.get(url + paths[0], headers=headers)
    load = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "api.bench.load", "--url", url),
        *("--connections", str(connections), "--seconds", str(seconds)),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await load.communicate(json.dumps({"paths": paths, "headers": headers}).encode())
    result: dict[str, Any] = json.loads(out)
    return result


async def _bulk_ms(app: Litestar, body: dict[str, Any], headers: dict[str, str]) -> tuple[float, float]:
    """The best and the median of ten bulk checks of 1,000 rows, in milliseconds, from sending
    the request to having the answer's bytes (the client's own JSON encoding and decoding are
    left out). Ten, not five: PostgreSQL plans a prepared statement anew for its first five runs
    on a connection and may cache a generic plan from the sixth on."""
    content = msgspec.json.encode(body)
    headers = {**headers, "Content-Type": "application/json"}
    async with _serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        timings = []
        for _ in range(10):
            started = time.perf_counter()
            response = await client.post("/v1/consent/check", content=content, headers=headers)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
        return round(min(timings) * 1000, 2), round(statistics.median(timings) * 1000, 2)


async def run(
    settings: Settings, seconds: float, connections: int, contacts: int, rounds: int = 3
) -> dict[str, Any]:
    assert settings.database_url
    async with scratch_schema(settings.database_url, "consent") as schema:
        await migrate(settings.database_url, schema=schema)
        dsn = _scoped(settings.database_url, schema)
        optin, ids, api_key = await _populate(settings, dsn, contacts)
        replica = settings.read_replica  # DATABASE_READ_URL: the same scratch schema there
        if replica is not None:
            replica = msgspec.structs.replace(replica, url=_scoped(replica.url, schema))
        app_settings = msgspec.structs.replace(settings, database_url=dsn, read_replica=replica)
        headers = {"Authorization": f"Bearer {api_key}"}
        query = [f"contact_id={c}&optin_id={optin}&channel=email" for c in ids]

        async def baseline() -> dict[str, Any]:
            return await _load(_baseline(dsn), [f"/check?{q}" for q in query], {}, seconds, connections)

        async def service() -> dict[str, Any]:
            app = create_app(app_settings, run_projections=False)
            return await _load(app, [f"/v1/consent?{q}" for q in query], headers, seconds, connections)

        compared = compare(await alternate(rounds, baseline, service))
        rows = [
            {"contact_id": str(ids[n % len(ids)]), "optin_id": str(optin), "channel": "email"}
            for n in range(1000)
        ]
        bulk_app = create_app(app_settings, run_projections=False)
        bulk, bulk_median = await _bulk_ms(bulk_app, {"items": rows}, headers)
    return {
        "connections": connections,
        "seconds": seconds,
        "check_per_s": compared.pop("per_s"),
        **compared,
        "bulk_1000_ms": bulk,
        "bulk_1000_median_ms": bulk_median,
    }
