"""`serve` on the embedded database stops cleanly on SIGTERM and SIGINT, even after a crash.

Real processes and real signals: a request in flight is answered, then the embedded PostgreSQL
of that data directory is gone; a `serve` killed with SIGKILL leaves its server and its pid
behind, and the next `serve` still stops that server when it ends.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.commands.users import DEMO_ADMIN_EMAIL
from tests.api.test_serve import free_port, wait_healthy

pytestmark = pytest.mark.integration


def start(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "OPTIN_"))}
    env["OPTIN_LOG_FORMAT"] = "json"
    env["OPTIN_METRICS_PORT"] = "0"
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def postgres_of(data_dir: Path) -> list[psutil.Process]:
    """Every running postgres process serving files under `data_dir`."""
    pgdata = str((data_dir / "pgdata").resolve())
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and any(pgdata in arg for arg in cmdline):
            found.append(proc)
    return found


def ended(proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> str:
    proc.wait(timeout)
    return log.read_text()


def admin_token(url: str, log: Path) -> str:
    match = re.search(r"Demo admin \(shown once\): email \S+\s+password (\S+)", log.read_text())
    assert match, log.read_text()
    form = {"username": DEMO_ADMIN_EMAIL, "password": match.group(1)}
    return str(httpx.post(url + "/v1/auth/token", data=form).json()["access_token"])


def metric_names(log: Path) -> set[str]:
    """Scrape the `/metrics` endpoint `serve` says it bound (an ephemeral port here)."""
    match = re.search(r'"url": "(http://127\.0\.0\.1:\d+/metrics)"', log.read_text())
    assert match, log.read_text()
    text = httpx.get(match.group(1)).text
    return {family.name for family in text_string_to_metric_families(text)}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_drains_requests_then_stops_the_embedded_server(tmp_path: Path, signum: int) -> None:
    data_dir, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    proc = start(data_dir, port, log)
    try:
        wait_healthy(url, proc)
        assert postgres_of(data_dir)
        headers = {"Authorization": f"Bearer {admin_token(url, log)}"}
        scraped = metric_names(log)
        assert {"optin_ledger_head_position", "optin_append_seconds"} <= scraped, scraped
        answers: list[httpx.Response] = []

        # A write whose body takes 2 s to arrive: in flight when the signal comes.
        def slow_body() -> Iterator[bytes]:
            yield b'{"channel": "email", '
            time.sleep(2.0)
            yield b'"address": "drain@example.org"}'

        json_headers = {**headers, "Content-Type": "application/json"}
        slow = threading.Thread(
            target=lambda: answers.append(
                httpx.post(url + "/v1/contacts", content=slow_body(), headers=json_headers, timeout=30)
            )
        )
        slow.start()
        time.sleep(1.0)
        proc.send_signal(signum)
        slow.join(30)
        out = ended(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [a.status_code for a in answers] == [201], out  # answered in full, not cut off
    assert proc.returncode == 0, out
    assert "Traceback" not in out, out
    assert not postgres_of(data_dir), out
    assert '"embedded postgresql stopped"' in out, out


def test_a_crashed_serve_does_not_keep_the_next_one_from_stopping_the_server(tmp_path: Path) -> None:
    data_dir, port, log = tmp_path / "data", free_port(), tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}"
    crashed = start(data_dir, port, log)
    try:
        wait_healthy(url, crashed)
    finally:
        crashed.send_signal(signal.SIGKILL)
        crashed.wait(30)
    survivors = postgres_of(data_dir)
    assert survivors  # SIGKILL leaves the server running, and the dead pid on the handle list
    assert crashed.pid in _handles(data_dir)

    proc = start(data_dir, port, log)
    try:
        wait_healthy(url, proc)
        assert crashed.pid not in _handles(data_dir)
        proc.send_signal(signal.SIGTERM)
        out = ended(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert not postgres_of(data_dir), out
    assert all(_gone(p) for p in survivors)


def _gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE  # ended; only its parent has not reaped it
    except psutil.NoSuchProcess:
        return True


def _handles(data_dir: Path) -> list[int]:
    return [int(pid) for pid in json.loads((data_dir / "pgdata" / ".handle_pids.json").read_text())]
