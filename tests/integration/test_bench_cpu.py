"""`api.bench.cpu`: the CPU a bench part used is put down to whoever used it (this process, an
ended child, PostgreSQL's processes), and the bench parts report it per unit of work."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from api.bench.append import ledger_appends, raw_inserts
from api.bench.cpu import CpuWindow, median_each, per_unit
from api.bench.scratch import scratch_schema

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads Linux's /proc"),
]

SPIN = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass"


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


async def test_each_kind_of_work_is_put_down_to_whoever_did_it(database_url: str) -> None:
    idle = await CpuWindow.start(database_url)
    await asyncio.sleep(0.3)
    quiet = await idle.stop()
    assert quiet["this_process"] < 0.2 and quiet["children"] == 0

    # A backend that ends inside the window is missed (its counts go with it), so this one
    # lives across it, as the benches' connections do.
    conn = await asyncpg.connect(database_url)
    try:
        window = await CpuWindow.start(database_url)
        _spin(0.4)  # this process
        child = await asyncio.create_subprocess_exec(sys.executable, "-c", SPIN.format(s=0.6))
        assert await child.wait() == 0
        started = time.process_time()
        await conn.execute("SELECT count(*) FROM generate_series(1, 3000000) g WHERE g % 7 = 3")
        waited = time.process_time() - started  # this process only waits for it
        used = await window.stop()
    finally:
        await conn.close()

    assert used["this_process"] >= 0.35, used
    assert 0.55 <= used["children"] < 1.5, used  # the child's spin, and its start-up
    assert waited < 0.05
    assert used["postgres"] is not None and used["postgres"] >= 0.1, used
    assert used["machine"] is not None and used["machine"] >= used["this_process"] + used["children"], used
    assert used["seconds"] >= 1.0 and used["cpus"] >= 1


def test_per_unit_and_medians() -> None:
    window = {"seconds": 2.0, "this_process": 1.0, "children": 0.0, "postgres": None, "machine": 3.0}
    each = per_unit(window, 1000)
    assert each == {
        "this_process": 1000.0,
        "children": 0.0,
        "postgres": None,
        "machine": 3000.0,
        "busy_cpus": 1.5,
    }
    assert per_unit(window, 0)["this_process"] is None  # no work: no figure, not a division error
    rounds = [each, each | {"this_process": 2000.0, "postgres": 10.0}, each | {"this_process": 1500.0}]
    medians = median_each(rounds)
    assert medians["this_process"] == 1500.0 and medians["postgres"] == 10.0 and medians["machine"] == 3000.0


async def test_append_parts_report_cpu_per_event(database_url: str) -> None:
    async with scratch_schema(database_url, "append") as schema:
        inserted, raw = await raw_inserts(database_url, schema, 0.5, 4)
    async with scratch_schema(database_url, "ledger") as schema:
        ledger = await ledger_appends(database_url, schema, 0.5, 4, "optin_app")
    assert inserted > 0 and ledger["appended"] > 0
    for cpu in (raw, ledger["cpu"]):
        assert cpu["this_process"] is not None and cpu["this_process"] > 0, cpu
        assert cpu["postgres"] is not None and cpu["postgres"] > 0, cpu  # the database is on this machine
        assert cpu["machine"] is not None and cpu["machine"] >= cpu["this_process"] * 0.9, cpu
