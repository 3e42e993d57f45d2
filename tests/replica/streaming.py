"""A PostgreSQL 15 primary and a streaming replica of it, made on this machine for the tests.

`initdb` makes a primary cluster the tests own; `pg_basebackup -R` copies it into a second
cluster, which starts as a hot standby streaming from the first. Both listen on free ports of
127.0.0.1 and are started and stopped with `pg_ctl`; as the `postgres` OS user when the tests
run as root (PostgreSQL refuses to run as root). The binaries: OPTIN_PG_BIN, else Debian's
/usr/lib/postgresql/15/bin.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("OPTIN_PG_BIN", "/usr/lib/postgresql/15/bin"))
STEP_SECONDS = 60  # any one initdb, backup, start or stop; a slow shared machine needs some

SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c max_connections=100 -c shared_buffers=32MB"
    " -c fsync=off -c full_page_writes=off -c wal_level=replica"
    " -c max_wal_senders=4 -c hot_standby=on -c wal_receiver_status_interval=1"
)


def unavailable() -> str | None:
    """Why this machine cannot make the pair (None when it can)."""
    for tool in ("initdb", "pg_ctl", "pg_basebackup"):
        if not (PG_BIN / tool).is_file():
            return f"no PostgreSQL binaries in {PG_BIN} (install postgresql-15 or set OPTIN_PG_BIN)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root with no `postgres` OS user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root without runuser(1) to become the `postgres` user"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Cluster:
    """One PostgreSQL data directory and the server on it."""

    def __init__(self, data: Path, port: int) -> None:
        self.data, self.port = data, port
        self.log = data.parent / f"{data.name}.log"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-c port={self.port} -c unix_socket_directories='{self.data.parent}' {SERVER_OPTIONS}"
        _run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        _run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        status = subprocess.run(
            _as_server_user(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"),
            capture_output=True,
            timeout=STEP_SECONDS,
            check=False,
        )
        return status.returncode == 0

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


PREFIX = "optin-replica-"


class StreamingPair:
    """A primary and its hot standby (`create()`); `destroy()` stops both and deletes them.

    The folder names the test process that made it (`owner.pid`): a pair whose process died
    without `destroy()` (killed, timed out) is stopped and deleted by the next one (`reap`)."""

    def __init__(self, base: Path | None = None) -> None:
        self.base = base or Path(tempfile.mkdtemp(prefix=PREFIX))
        self.primary = Cluster(self.base / "primary", _free_port())
        self.replica = Cluster(self.base / "replica", _free_port())
        if base is None:
            (self.base / "owner.pid").write_text(str(os.getpid()))
            if os.geteuid() == 0:
                shutil.chown(self.base, "postgres", "postgres")

    @staticmethod
    def reap() -> None:
        """Stop and delete the pairs of test processes that are gone."""
        for base in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
            try:
                os.kill(int((base / "owner.pid").read_text()), 0)
            except ProcessLookupError:
                StreamingPair(base).destroy()
            except (OSError, ValueError):
                continue  # another user's, or being made right now

    def create(self) -> None:
        _run(
            "initdb", "-D", str(self.primary.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"
        )
        self.primary.start()
        _run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            "postgres",
            "-D",
            str(self.replica.data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )
        self.replica.start()

    def destroy(self) -> None:
        for cluster in (self.replica, self.primary):
            if cluster.data.is_dir() and cluster.running():
                with contextlib.suppress(subprocess.SubprocessError):
                    cluster.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


def _as_server_user(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


def _run(tool: str, *args: str) -> None:
    command = _as_server_user(str(PG_BIN / tool), *args)
    done = subprocess.run(command, capture_output=True, text=True, timeout=STEP_SECONDS, check=False, cwd="/")
    if done.returncode != 0:
        raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
