"""A process started while its database cannot be reached: it waits (OPTIN_DB_STARTUP_WAIT) with
one structured log line per attempt and starts once the database answers; past the wait, or
when the server refuses it for a reason that will not go away, it exits with a clear message
(exit code 2), never with a traceback, and never showing the database password."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.faults.service import DatabaseSwitch, Service, service_settings, spawn, until_ready

pytestmark = pytest.mark.integration


def retries(service: Service) -> list[dict[str, object]]:
    return [line for line in service.lines() if line["event"] == "database not reachable yet; retrying"]


async def exited(service: Service, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while (code := service.proc.poll()) is None:
        assert time.monotonic() < deadline, service.log.read_text()
        await asyncio.sleep(0.05)
    return code


def assert_clear(service: Service, dsn: str) -> str:
    text = service.log.read_text()
    assert "Traceback" not in text, text
    parts = urlsplit(dsn)
    if parts.password and parts.password != parts.username:  # a CI role may share the two
        assert parts.password not in text
    return text


async def test_serve_started_during_an_outage_waits_for_the_database_then_serves(
    admin_dsn: str, database_url: str, tmp_path: Path
) -> None:
    settings, env = service_settings(database_url, tmp_path)
    switch = DatabaseSwitch(admin_dsn, database_url)
    await switch.take_away()
    service = None
    try:
        service = spawn(tmp_path / "data", {**env, "OPTIN_DB_STARTUP_WAIT": "60"}, settings)
        deadline = time.monotonic() + 30
        while len(retries(service)) < 3:
            assert service.proc.poll() is None, service.log.read_text()
            assert time.monotonic() < deadline, service.log.read_text()
            await asyncio.sleep(0.1)
        await switch.give_back()
        back = time.monotonic()
        await until_ready(service)
        print(f"ready {time.monotonic() - back:.2f} s after the database came back")
    finally:
        await switch.give_back()
        if service is not None:
            service.stop()
    first = retries(service)[0]
    assert first["level"] == "warning" and {"attempt", "retry_in", "error"} <= set(first), first
    assert [line["attempt"] for line in retries(service)][:3] == [1, 2, 3]
    assert any(line["event"] == "database reached" for line in service.lines())
    assert_clear(service, database_url)


async def test_serve_gives_up_after_the_startup_wait_with_a_clear_message(
    admin_dsn: str, database_url: str, tmp_path: Path
) -> None:
    settings, env = service_settings(database_url, tmp_path)
    switch = DatabaseSwitch(admin_dsn, database_url)
    await switch.take_away()
    try:
        service = spawn(tmp_path / "data", {**env, "OPTIN_DB_STARTUP_WAIT": "1.5"}, settings)
        started = time.monotonic()
        code = await exited(service, 60)
        took = time.monotonic() - started
    finally:
        await switch.give_back()
    assert code == 2
    text = assert_clear(service, database_url)
    assert "did not answer within 1.5 s" in text and "OPTIN_DB_STARTUP_WAIT" in text, text
    assert len(retries(service)) >= 2
    assert took < 30, took  # 1.5 s of waiting, plus the interpreter's start


async def test_a_refusal_that_waiting_cannot_fix_exits_at_once(database_url: str, tmp_path: Path) -> None:
    parts = urlsplit(database_url)
    missing = urlunsplit(parts._replace(path="/optin_no_such_database"))
    settings, env = service_settings(missing, tmp_path)
    service = spawn(tmp_path / "data", {**env, "OPTIN_DB_STARTUP_WAIT": "60"}, settings)
    code = await exited(service, 30)
    assert code == 2
    text = assert_clear(service, missing)
    assert "refused us" in text and "optin_no_such_database" in text, text
    assert not retries(service)
