"""The split deployment through an outage: `project` and `worker`, each a process of its own,
log it once each way and are at work again within a second of the database's return (the
projector contends for leadership again at once instead of backing off)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from adapters.postgres.pool import create_pool
from api.composition import compose
from ledger.address import normalise
from ledger.vocabulary import Actor
from tests import pii
from tests.faults.service import DatabaseSwitch, Service, service_settings
from tests.faults.test_outage import until

pytestmark = pytest.mark.integration


def run(command: str, data_dir: Path, env: dict[str, str], settings: Any) -> Service:
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"{command}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", command, "--data-dir", str(data_dir)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Service(proc, "", log, settings)


async def logged(service: Service, event: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not any(line["event"] == event for line in service.lines()):
        assert service.proc.poll() is None, service.log.read_text()
        assert time.monotonic() < deadline, service.log.read_text()
        await asyncio.sleep(0.1)


async def test_project_and_worker_resume_within_a_second_of_the_database_coming_back(
    admin_dsn: str, database_url: str, tmp_path: Path
) -> None:
    settings, env = service_settings(database_url, tmp_path)
    projector = run("project", tmp_path / "project", env, settings)
    worker = run("worker", tmp_path / "worker", env, settings)
    switch = DatabaseSwitch(admin_dsn, database_url)
    try:
        await logged(projector, "elected leader")
        await logged(worker, "outbox worker started")
        await switch.take_away()
        await asyncio.sleep(4.0)
        await switch.give_back()
        back = time.monotonic()
        projected, sent = await work_after(settings, database_url)
    finally:
        projector.stop()
        worker.stop()

    print(f"read models {projected - back:.3f} s, outbox {sent - back:.3f} s after the return")
    assert projected - back < 1.0
    assert sent - back < 1.0
    for process in (projector, worker):
        lines = process.lines()
        assert len([line for line in lines if line["event"] == "database unavailable"]) == 1, lines
        assert len([line for line in lines if str(line["event"]).startswith("database back after")]) == 1
        noisy = [
            line
            for line in lines
            if line["event"] != "database unavailable" and line.get("level") in ("error", "critical", "raw")
        ]
        assert not noisy, noisy[:3]


async def work_after(settings: Any, dsn: str) -> tuple[float, float]:
    """Register a contact and ask it a code from here as soon as the database takes connections:
    when the read models had it, and when the worker had sent the code."""
    pool = await create_pool(dsn, role="optin_app", min_size=1, max_size=4)
    parts = compose(settings, pool)
    conn = await asyncpg.connect(dsn)
    try:
        before = int(await conn.fetchval("SELECT count(*) FROM dev_outbox"))
        registration = await parts.contacts.register(normalise("email", pii.email()), Actor(kind="contact"))
        await parts.flows.start_self_service(registration.contact_id)

        async def caught_up() -> bool:
            low = await conn.fetchval("SELECT min(position) FROM projection_tracking")
            return bool(low is not None and low >= registration.position)

        async def sent() -> bool:
            return int(await conn.fetchval("SELECT count(*) FROM dev_outbox")) > before

        return await until(caught_up, 15), await until(sent, 15)
    finally:
        await conn.close()
        await parts.close()
        await pool.close()
