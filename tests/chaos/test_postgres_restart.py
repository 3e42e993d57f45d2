"""An immediate restart of PostgreSQL (a crash: no checkpoint, recovery from the WAL) under a write
storm: the service rides it out without a restart of its own, loses nothing it acknowledged, and
`/ready` says so: ready, then not, then ready again by itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.processes import ReadyWatch, Service, Storm, missing, pg_ctl, wait_until

pytestmark = pytest.mark.chaos


def test_the_service_rides_out_an_immediate_postgres_restart(data_dir: Path, tmp_path: Path) -> None:
    service = Service(data_dir, tmp_path / "serve.log").start()
    try:
        headers = service.login(service.admin_password())
        with ReadyWatch(service.url) as ready, Storm(service.url, headers, writers=8) as storm:
            wait_until(lambda: storm.count() >= 200 and ready.changes == ["ready"], 40, "writes while ready")
            pg_ctl(data_dir, "restart", "-m", "immediate", "-w", "-t", "60")
            after_restart = storm.count()
            wait_until(lambda: storm.count() >= after_restart + 200, 40, "writes after the restart")
            wait_until(lambda: ready.changes[-1] == "ready", 30, "/ready to come back")
        acknowledged = list(storm.acknowledged)
        assert service.proc is not None and service.proc.poll() is None, "serve did not survive"
        print(f"acknowledged {len(acknowledged)}; failed: {storm.failures}; /ready: {ready.changes}")
        assert ready.changes[0] == "ready" and ready.changes[-1] == "ready"
        assert len(ready.changes) >= 3, f"/ready never said no: {ready.changes}"
        # Refused while the database is away (5xx or a dropped connection), never a 4xx.
        assert all(not what.startswith("4") for what in storm.failures), storm.failures
        assert not list(missing(acknowledged, service.ledger(headers, tmp_path)))
    finally:
        service.stop()
    service.assert_no_plaintext_addresses()
