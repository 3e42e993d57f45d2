"""`bench command`: full writes over HTTP against a bare Litestar endpoint doing one INSERT.

Each of 32 connections (from a separate process, `api.bench.write_load`) runs the write path an
application drives: register a contact, request consent, confirm it with the code, send a
message; every step is a command through the whole stack (authentication, guards, validation,
aggregates, the event store, the access log), with the projection runner and the outbox worker
running in the server process as `serve` runs them. The baseline, in the same run on the same
database, answers a POST with one INSERT of the same row shape as `events`. The two take turns
for `rounds` rounds (`api.bench.rounds`): the ratios are medians of the rounds' ratios.

The rate counts requests answered during the load. The projections (and so the outbox worker's
sends) may still be behind when it stops: each round reports by how many events, and how long
the server then took to bring every projection to the head.

The goal is stated against the consent-check rate, so each service round then measures that
too, on the same server, right after the projections caught up: the same load client as
`bench consent` asks `GET /v1/consent` for the contacts the writes just opted in, for as many
seconds on as many connections. `ratio_vs_check` is the median of the rounds' writes/s over
checks/s, and `p99_ratio` the write p99 over the bare INSERT's p99 (the goal's two figures).

The one thing not as in production: the six-digit code is fixed for the run, so the load client
can confirm without reading the dev outbox (a contact would read the message).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import uuid
from typing import Any
from unittest import mock

import asyncpg
import msgspec
from litestar import Litestar, post
from litestar.params import JSONBody

from adapters.crypto.codes import HmacCodes
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.merkle_tiles import TREE
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool, light_reset
from adapters.settings import Settings
from api.app import create_app
from api.bench.consent import _scoped, _serving, checks_load
from api.bench.cpu import CpuWindow, median_each, per_unit
from api.bench.rounds import alternate, compare
from api.bench.scratch import scratch_schema
from api.composition import compose
from ledger.program import new_program
from ledger.repository import Repository
from ledger.vocabulary import SYSTEM
from projections.catalog import all_projections

CODE = "246810"
STATE = b'{"actor":{"kind":"system"},"source":"api","note":"' + b"x" * 160 + b'"}'


async def _populate(settings: Settings, dsn: str) -> tuple[uuid.UUID, str]:
    """A marketing program on email and an API key of a service account (as apps call)."""
    pool = await create_pool(dsn, role=settings.db_role, min_size=1, max_size=4)
    try:
        repo = Repository(PostgresEventStore(pool))
        program = new_program(
            name="Bench",
            description="",
            purpose="marketing",
            channels=("email",),
            disclosure="d",
            actor=SYSTEM,
        )
        await repo.save(program)
        accounts = compose(settings, pool, follow=False).accounts
        service, _ = await accounts.create(
            email="bench-writer@bench.example.org", role="service", password=None, actor=SYSTEM
        )
        issued = await accounts.issue_api_key(service.id, SYSTEM)
        return program.id, issued.key.secret
    finally:
        await pool.close()


class _Row(msgspec.Struct, frozen=True):
    stream: uuid.UUID
    n: int


def _baseline(dsn: str) -> Litestar:
    state: dict[str, asyncpg.Pool] = {}

    async def start() -> None:
        # Released as the service's pools release (no reset round trip): the same cost a query.
        state["pool"] = await asyncpg.create_pool(dsn, min_size=4, max_size=20, reset=light_reset)
        await state["pool"].execute(
            "CREATE TABLE IF NOT EXISTS raw_writes (id bigserial PRIMARY KEY, originator_id uuid NOT NULL, "
            "originator_version bigint NOT NULL, topic text NOT NULL, state bytea NOT NULL, "
            "recorded_at timestamptz NOT NULL DEFAULT now(), UNIQUE (originator_id, originator_version))"
        )

    async def stop() -> None:
        await state["pool"].close()

    @post("/insert")
    async def insert(data: JSONBody[_Row]) -> dict[str, Any]:
        position = await state["pool"].fetchval(
            "INSERT INTO raw_writes (originator_id, originator_version, topic, state) "
            "VALUES ($1, $2, 'bench.written', $3) RETURNING id",
            data.stream,
            data.n,
            STATE,
        )
        return {"position": position}

    return Litestar(
        [insert], on_startup=[start], on_shutdown=[stop], openapi_config=None, logging_config=None
    )


async def _load(
    app: Litestar,
    dsn: str,
    script: str,
    spec: dict[str, Any],
    seconds: float,
    connections: int,
    followed: list[str] | None = None,
) -> Any:
    """The load client's figures and the CPU used meanwhile (`api.bench.cpu`); with `followed`
    (the projections the server runs), also how far those were behind when the load stopped and
    how long the server then took to catch up (work a rate measured over the load alone would
    leave out, and which the CPU figures include)."""
    async with _serving(app) as url:
        window = await CpuWindow.start(dsn)
        load = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "api.bench.write_load", "--url", url, "--script", script),
            *("--connections", str(connections), "--seconds", str(seconds)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await load.communicate(json.dumps(spec).encode())
        result = json.loads(out)
        if followed is not None:
            result |= await _catch_up(dsn, followed)
        result["cpu"] = per_unit(await window.stop(), result["requests"])
        if followed is not None:
            result["check"] = await _checks(url, dsn, spec, seconds, connections)
        return result


async def _checks(url: str, dsn: str, spec: dict[str, Any], seconds: float, connections: int) -> Any:
    """`bench consent`'s load (api.bench.load) on this server: consent checks of the contacts
    the writes opted in (at most 1,000 of them, as `bench consent` checks 1,000)."""
    conn = await asyncpg.connect(dsn)
    try:
        contacts = await conn.fetch(
            "SELECT contact_id FROM consent_state WHERE optin_id = $1 AND channel = 'email' LIMIT 1000",
            uuid.UUID(spec["optin_id"]),
        )
    finally:
        await conn.close()
    if not contacts:
        raise RuntimeError("the write load opted nobody in: no consent to check")
    optin = spec["optin_id"]
    paths = [f"/v1/consent?contact_id={r['contact_id']}&optin_id={optin}&channel=email" for r in contacts]
    window = await CpuWindow.start(dsn)
    result = await checks_load(url, paths, spec["headers"], seconds, connections)
    return result | {"cpu": per_unit(await window.stop(), result["requests"])}


async def _catch_up(dsn: str, names: list[str], limit: float = 120.0) -> dict[str, Any]:
    """Events the projections `names` were behind the head as the load stopped (summed, and the
    most behind one), and seconds until every one reached that head (while the server runs on)."""
    conn = await asyncpg.connect(dsn)
    tracked = "SELECT coalesce(array_agg(position), '{}') FROM projection_tracking WHERE name = ANY($1)"
    try:
        head = await conn.fetchval("SELECT position FROM ledger_head")
        lags = [head - p for p in await conn.fetchval(tracked, names)]
        started = time.perf_counter()
        while time.perf_counter() - started < limit:
            if min(await conn.fetchval(tracked, names), default=head) >= head:
                break
            await asyncio.sleep(0.05)
        return {
            "behind_events": sum(max(lag, 0) for lag in lags),
            "behind_most": max(lags, default=0),
            "catch_up_s": round(time.perf_counter() - started, 2),
        }
    finally:
        await conn.close()


async def run(settings: Settings, seconds: float, connections: int, rounds: int = 3) -> dict[str, Any]:
    assert settings.database_url
    async with scratch_schema(settings.database_url, "command") as schema:
        await migrate(settings.database_url, schema=schema)
        dsn = _scoped(settings.database_url, schema)
        optin, api_key = await _populate(settings, dsn)
        spec = {"headers": {"Authorization": f"Bearer {api_key}"}, "optin_id": str(optin), "code": CODE}
        # What the server follows the ledger with: its projections and the Merkle tree.
        followed = [p.name for p in all_projections(settings)] + [TREE]

        async def baseline() -> dict[str, Any]:
            result: dict[str, Any] = await _load(_baseline(dsn), dsn, "insert", {}, seconds, connections)
            return result

        async def service() -> dict[str, Any]:
            app = create_app(msgspec.structs.replace(settings, database_url=dsn))
            result: dict[str, Any] = await _load(app, dsn, "flow", spec, seconds, connections, followed)
            return result

        with mock.patch.object(HmacCodes, "new", return_value=CODE):
            pairs = await alternate(rounds, baseline, service)
    compared = compare(pairs)
    vs_check = [s["per_s"] / s["check"]["per_s"] for _, s in pairs]
    failed: dict[str, int] = {}
    for pair in pairs:
        for part in pair:
            for what, n in part["failed"].items():
                failed[what] = failed.get(what, 0) + n
    return {
        "connections": connections,
        "seconds": seconds,
        "writes_per_s": compared.pop("per_s"),
        "baseline_insert_per_s": compared.pop("baseline_per_s"),
        "flows_per_s": round(statistics.median(s["flows_per_s"] for _, s in pairs), 1),
        # The goal's figure: writes against consent checks on the same server, in the same round.
        "check_per_s": round(statistics.median(s["check"]["per_s"] for _, s in pairs), 1),
        "check_p99_ms": round(statistics.median(s["check"]["p99_ms"] for _, s in pairs), 3),
        "ratio_vs_check": round(statistics.median(vs_check), 3),
        "ratios_vs_check_by_round": [round(r, 2) for r in vs_check],
        "check_errors": sum(s["check"]["errors"] for _, s in pairs),
        # Work the rate leaves out: how far the projections were behind as each load stopped.
        "projections_behind_events": [s["behind_events"] for _, s in pairs],
        "projection_most_behind": [s["behind_most"] for _, s in pairs],
        "catch_up_s": [s["catch_up_s"] for _, s in pairs],
        # CPU per request (microseconds; medians of the rounds): whether the server or the
        # database is the limit, and what a higher rate would cost this machine (`api.bench.cpu`).
        "cpu_us_per_write": median_each(s["cpu"] for _, s in pairs),
        "cpu_us_per_insert": median_each(b["cpu"] for b, _ in pairs),
        "cpu_us_per_check": median_each(s["check"]["cpu"] for _, s in pairs),
        **compared,
        "failed": failed,
    }
