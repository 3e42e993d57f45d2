"""Audit API: the ledger in order with hashes, masked; the export verifies offline, and edits do not."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.postgres.event_store import PostgresEventStore
from api.cli import main
from ledger.program import new_program
from ledger.repository import Repository
from ledger.vocabulary import SYSTEM
from tests.api.conftest import AuthHeaders

pytestmark = pytest.mark.integration


async def some_history(store: PostgresEventStore) -> None:
    repo = Repository(store)
    for n in range(3):
        program = new_program(
            name=f"Offers {n} (ask jane.doe@example.com)",
            description="",
            purpose="marketing",
            channels=("email",),
            disclosure="You agree. Reply STOP to stop.",
            actor=SYSTEM,
        )
        await repo.save(program)
        program.rename(f"Offers {n}", SYSTEM)
        await repo.save(program)


async def test_events_come_in_ledger_order_with_hashes_and_masked_text(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    store: PostgresEventStore,
    pool: asyncpg.Pool,
) -> None:
    auditor = await auth_headers("auditor")
    await some_history(store)
    head = await store.head()
    first = (await client.get("/v1/audit/events?limit=4", headers=auditor)).json()
    rest = (
        await client.get(f"/v1/audit/events?after={first['next_after']}&limit=1000", headers=auditor)
    ).json()
    events = first["events"] + rest["events"]
    assert [e["position"] for e in events] == list(range(1, head + 1))
    assert rest["next_after"] is None
    stored = {r["notification_id"]: r["hash"].hex() for r in await pool.fetch("SELECT * FROM events")}
    assert all(stored[e["position"]] == e["hash"] for e in events)
    names = [e["state"]["name"] for e in events if e["topic"] == "optin.created"]
    assert names == [f"Offers {n} (ask j***@e***.com)" for n in range(3)]
    assert "jane.doe" not in str(events)


async def test_export_verifies_offline_and_a_flipped_byte_is_named(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    store: PostgresEventStore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin = await auth_headers("admin")
    await some_history(store)
    response = await client.get("/v1/audit/export", headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    export = tmp_path / "ledger.ndjson"
    export.write_bytes(response.content)
    lines = response.content.splitlines(keepends=True)
    assert len(lines) == await store.head() + 2  # header, one line per event, trailer

    assert main(["audit", "verify", str(export)]) == 0
    assert f"ok: {len(lines) - 2} records verified" in capsys.readouterr().out

    record = 5  # line 6 holds position 5
    offset = sum(len(line) for line in lines[:record]) + lines[record].index(b'"state":"') + 12
    tampered = bytearray(response.content)
    tampered[offset] ^= 0x01
    export.write_bytes(bytes(tampered))
    assert main(["audit", "verify", str(export)]) == 1
    out = capsys.readouterr().out
    assert f"FAILED at line {record + 1} (position {record})" in out

    partial = await client.get("/v1/audit/export?after=4", headers=admin)
    export.write_bytes(partial.content)
    assert main(["audit", "verify", str(export)]) == 0
    assert main(["audit", "verify", str(tmp_path / "missing.ndjson")]) == 2


async def test_the_export_is_for_auditors_and_admins_only(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders
) -> None:
    assert (await client.get("/v1/audit/export", headers=await auth_headers("staff"))).status_code == 403
    assert (await client.get("/v1/audit/export")).status_code == 401
    assert (await client.get("/v1/audit/export", headers=await auth_headers("auditor"))).status_code == 200
