"""History rewritten by whoever controls the database is caught.

The database's owner disables the append-only trigger, rewrites a consent event and recomputes
the hash chain with the project's own chain code: `audit verify` still says ok (a chain anyone
with the database can recompute proves nothing). But the contact's evidence bundle no longer
verifies and names the event; and when the attacker also rebuilds the Merkle tree and has fresh
checkpoints signed, a monitor (the real CLI, against the real service over HTTP) holding a
checkpoint from before reports the fork.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.crypto.signing import Ed25519Signer
from adapters.settings import Settings
from ledger.audit_export import verify_export
from ledger.chain import ChainRecord, link
from ledger.checkpoint import sign_checkpoint
from ledger.merkle import event_leaf
from tests.api.test_evidence_api import export, history, run_verifier
from tests.api.test_serve import free_port, stop, wait_healthy

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]


def serve(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    """`optin-ledger serve` on the test's database, with the test app's keys."""
    assert settings.database_url
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "OPTIN_"))}
    secrets = {
        "OPTIN_KEK": settings.kek,
        "OPTIN_INDEX_KEY": settings.index_key,
        "OPTIN_TOKEN_KEY": settings.token_key,
        "OPTIN_SIGNING_KEY": settings.signing_key,
    }
    env |= {name: base64.b64encode(value or b"").decode() for name, value in secrets.items()}
    env |= {
        "DATABASE_URL": settings.database_url,
        "OPTIN_LOG_FORMAT": "json",
        "OPTIN_CHECKPOINT_SECONDS": "0.1",
    }
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--no-worker"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def monitor(url: str, vkey: str, state: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "api.cli",
        "audit",
        "monitor",
        "--url",
        url,
        "--key",
        vkey,
        "--state",
        str(state),
    ]
    return subprocess.run(command, capture_output=True, text=True, check=False)


async def rewrite_and_rechain(dsn: str, position: int) -> None:
    """What the issue did: edit one event as the table's owner, then recompute every later hash
    (and the event's stored leaf hash, as an attacker with the project's code would)."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
            state = json.loads(
                await conn.fetchval("SELECT state FROM events WHERE notification_id = $1", position)
            )
            state["evidence"]["source"] = "import"
            await conn.execute(
                "UPDATE events SET state = $2 WHERE notification_id = $1",
                position,
                json.dumps(state, separators=(",", ":")).encode(),
            )
            rows = await conn.fetch(
                "SELECT notification_id, originator_id, originator_version, topic, state, recorded_at "
                "FROM events WHERE notification_id >= $1 ORDER BY notification_id",
                position,
            )
            prev = await conn.fetchval("SELECT hash FROM events WHERE notification_id = $1", position - 1)
            for row in rows:
                prev = link(prev, ChainRecord(*row))
                await conn.execute("UPDATE events SET hash = $2 WHERE notification_id = $1", row[0], prev)
            # and the leaf hash the append stored with the rewritten event (migration 100)
            leaf = event_leaf(ChainRecord(*rows[0]))
            await conn.execute("UPDATE events SET leaf_hash = $2 WHERE notification_id = $1", position, leaf)
            await conn.execute("UPDATE ledger_head SET hash = $1", prev)
            await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
    finally:
        await conn.close()


async def rebuild_tree(dsn: str) -> None:
    """The attacker's next step: throw the tree and its checkpoints away, let it be rebuilt."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('projection:merkle_tree'))")
            await conn.execute("DELETE FROM merkle_tiles")
            await conn.execute("DELETE FROM ledger_checkpoints")
            await conn.execute("UPDATE projection_tracking SET position = 0 WHERE name = 'merkle_tree'")
    finally:
        await conn.close()


async def audit_verdict(client: Client, headers: dict[str, str]) -> Any:
    response = await client.get("/v1/audit/export", headers=headers)
    return verify_export(response.content.splitlines(keepends=True))


async def test_a_rewritten_event_fails_its_bundle_and_a_rebuilt_tree_is_a_fork_the_monitor_sees(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str], tmp_path: Path
) -> None:
    assert settings.database_url
    made = await history(client, pool, settings, as_admin)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = serve(settings, port)
    try:
        await asyncio.to_thread(wait_healthy, url, server)
        vkey = (await asyncio.to_thread(httpx.get, f"{url}/v1/ledger/key")).text.strip()
        state = tmp_path / "monitor.json"
        first = await asyncio.to_thread(monitor, url, vkey, state)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "trusted on first use" in first.stdout

        before = await export(client, made["contact"], as_admin, made["position"])
        assert run_verifier(tmp_path, before, vkey).returncode == 0
        granted = next(e["position"] for e in before["events"] if e["topic"] == "consent.granted")

        await rewrite_and_rechain(settings.database_url, granted)
        assert (await audit_verdict(client, as_admin)).ok  # the chain alone is fooled
        after = await export(client, made["contact"], as_admin)
        failed = run_verifier(tmp_path, after, vkey)
        assert failed.returncode == 1
        assert f"FAILED: event at position {granted} (consent.granted)" in failed.stdout

        await rebuild_tree(settings.database_url)
        rebuilt = await export(client, made["contact"], as_admin)  # a new tree, new checkpoints
        assert run_verifier(tmp_path, rebuilt, vkey).returncode == 0  # a bundle alone cannot tell
        fork = await asyncio.to_thread(monitor, url, vkey, state)
        assert fork.returncode == 1, fork.stdout + fork.stderr
        assert "ALERT: fork" in fork.stdout and "history was rewritten" in fork.stdout
        again = await asyncio.to_thread(monitor, url, vkey, state)  # the old checkpoint is kept:
        assert again.returncode == 1 and "ALERT: fork" in again.stdout  # it keeps saying so
    finally:
        output = stop(server)
    # A follower whose tree in memory predates the rebuild may try to write its old tiles: the
    # database refuses ("may only grow"), it reloads. Nothing else may have gone wrong.
    unexpected = [line for line in output.splitlines() if "Traceback" in line and "may only grow" not in line]
    assert unexpected == [], output


async def test_the_monitor_reports_a_rollback_and_a_bad_signature(
    client: Client, settings: Settings, as_admin: dict[str, str], tmp_path: Path
) -> None:
    assert settings.signing_key
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = serve(settings, port)
    try:
        await asyncio.to_thread(wait_healthy, url, server)
        vkey = (await asyncio.to_thread(httpx.get, f"{url}/v1/ledger/key")).text.strip()
        state = tmp_path / "monitor.json"
        signer = Ed25519Signer(settings.signing_key, vkey.split("+")[0])
        ahead = sign_checkpoint(signer, 10_000, bytes(32))  # a checkpoint "seen" beyond today's log
        state.write_text(json.dumps({"checkpoint": ahead.note}))
        rollback = await asyncio.to_thread(monitor, url, vkey, state)
        assert rollback.returncode == 1
        assert "ALERT: rollback" in rollback.stdout
        stranger = Ed25519Signer(os.urandom(32), vkey.split("+")[0])
        wrong = await asyncio.to_thread(monitor, url, stranger.verifier_key, tmp_path / "other.json")
        assert wrong.returncode == 1
        assert "does not verify" in wrong.stdout or "not signed by" in wrong.stdout
        unreachable = await asyncio.to_thread(
            monitor, f"http://127.0.0.1:{free_port()}", vkey, tmp_path / "x.json"
        )
        assert unreachable.returncode == 2
    finally:
        stop(server)
