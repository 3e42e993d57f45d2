"""The README's first command: `optin-ledger serve` on the embedded database, restarted, keeps data."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.pool import create_pool
from ledger.ports import StoredEvent

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "OPTIN_"))}
    env["OPTIN_LOG_FORMAT"] = "json"
    env["OPTIN_METRICS_PORT"] = "0"  # tests run side by side: never the fixed default port
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise AssertionError(f"serve exited with {proc.returncode}:\n{out}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not become healthy")


def stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode()


async def append_one(data_dir: Path) -> None:
    socket_dir = (data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()[4]
    dsn = f"postgresql://postgres:@/postgres?host={socket_dir}"
    pool = await create_pool(dsn, role="optin_app", min_size=1, max_size=2)
    try:
        await PostgresEventStore(pool).append([StoredEvent(uuid.uuid4(), 1, "test.happened", b"{}")])
    finally:
        await pool.close()


def test_serve_on_embedded_database_survives_a_restart(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(data_dir, port)
    try:
        wait_healthy(url, proc)
        before = httpx.get(url + "/ready").json()["ledger_position"]  # the demo admin's account
        assert httpx.get(url + "/schema").status_code == 200
        asyncio.run(append_one(data_dir))
        assert (data_dir / "secrets.env").stat().st_mode & 0o777 == 0o600
    finally:
        out = stop(proc)
    assert "Traceback" not in out, out

    proc = start(data_dir, port)
    try:
        wait_healthy(url, proc)
        ready = httpx.get(url + "/ready").json()
        assert ready["ledger_position"] == before + 1
    finally:
        stop(proc)
    with pytest.raises((OSError, asyncpg.PostgresError)):
        asyncio.run(append_one(data_dir))  # the embedded server stopped with the service
