"""kill -9 of `serve` in the middle of a write storm: every write it acknowledged is in the ledger
after a restart, at the position it was acknowledged with; the hash chain verifies, and so does
the Merkle tree (its checkpoint's root recomputed from the events, and a witness that saw a
checkpoint before the kill finds the one after it a consistent extension)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.processes import Service, Storm, missing, tree_root, wait_until

pytestmark = pytest.mark.chaos


def test_every_acknowledged_write_survives_a_kill_9_of_serve(data_dir: Path, tmp_path: Path) -> None:
    service = Service(data_dir, tmp_path / "serve.log").start()
    try:
        password = service.admin_password()
        witness = tmp_path / "witness.json"
        with Storm(service.url, service.login(password), writers=8) as storm:
            wait_until(lambda: storm.count() >= 100 and service.checkpoint()[0] > 0, 40, "a checkpoint")
            service.monitor(witness)
            wait_until(lambda: storm.count() >= 300, 40, "300 acknowledged writes")
            service.kill()  # mid-storm: requests in flight are cut off, unanswered
        acknowledged = list(storm.acknowledged)
        assert storm.failures, "the kill came after the storm, not during it"
        print(f"acknowledged {len(acknowledged)}; failed after the kill: {storm.failures}")

        service.start()  # the embedded server kept running; the new process joins it
        headers = service.login(password)
        last = max(position for _, position in acknowledged)
        wait_until(
            lambda: service.checkpoint()[0] >= last, 30, "a checkpoint covering every acknowledged write"
        )
        size, root = service.checkpoint()
        ledger = service.ledger(headers, tmp_path)  # exported after the checkpoint: covers it
        assert not list(missing(acknowledged, ledger))
        assert tree_root(ledger, size) == root
        service.monitor(witness)
        head = max(ledger)
        # The read model has them too, once the projector (restarted with serve) catches up.
        for contact_id, _ in acknowledged[:: max(1, len(acknowledged) // 40)]:
            found = service.get(f"/v1/contacts/{contact_id}?min_position={head}", headers)
            assert found.status_code == 200, found.text
    finally:
        service.stop()
    service.assert_no_plaintext_addresses()
