"""`bench import`: a consent import of N rows (default 1,000,000) into a scratch schema, timed.

The file is written first (half email, half SMS; three in four opt-ins with evidence, the rest
opt-outs; two programs), then imported the way `optin-ledger import` does it: every row checked,
then applied in chunks. A second run of the same file is timed too (it must change nothing).
The goal is 1,000,000 rows in under 5 minutes on a small machine.
"""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path
from typing import Any

from adapters.import_workers import Parallel
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool
from adapters.settings import Settings
from api.bench.scratch import scratch_schema
from api.composition import compose
from ledger.program import new_program
from ledger.vocabulary import Actor

BENCH = Actor(kind="system", id="bench-import")


def write_file(path: Path, rows: int) -> None:
    """Fictional addresses only: example.com mailboxes and US 555-01xx-style numbers."""
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["address", "channel", "program", "status", "when", "source", "evidence"])
        for n in range(rows):
            status = "opted_out" if n % 4 == 3 else "opted_in"
            evidence = "" if status == "opted_out" else f"signup form v{n % 7}, double opt-in"
            when = f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z"
            if n % 2:
                address, channel = f"bench{n}@example.com", "email"
            else:
                exchange = 200 + (n // 10_000) % 800
                address, channel = (
                    f"+1{_AREAS[n // 8_000_000 % len(_AREAS)]}{exchange}{n % 10_000:04d}",
                    "sms",
                )
            program = "Offers" if n % 3 else "News"
            out.writerow([address, channel, program, status, when, "crm", evidence])


_AREAS = ("212", "415", "617", "312")


async def run(settings: Settings, rows: int, workers: int = 2) -> dict[str, Any]:
    assert settings.database_url and settings.kek and settings.index_key
    dsn = settings.database_url
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "consents.csv"
        started = time.perf_counter()
        write_file(path, rows)
        written = time.perf_counter() - started
        async with scratch_schema(dsn, "import") as schema:
            await migrate(dsn, schema=schema)
            pool = await create_pool(dsn, role=settings.db_role, schema=schema, min_size=2, max_size=8)
            parts = compose(settings, pool, follow=False)
            try:
                for name in ("Offers", "News"):
                    program = new_program(
                        name=name, description="", purpose="marketing", channels=("email", "sms"),
                        disclosure="d", actor=BENCH,
                    )  # fmt: skip
                    await parts.repository.save(program)
                await parts.runner.catch_up(parts.runner.projections["optins"])
                parallel = Parallel(dsn, settings.db_role, schema, workers)
                started = time.perf_counter()
                first = await parts.imports.run(path, BENCH, dry_run=False, parallel=parallel)
                took = time.perf_counter() - started
                started = time.perf_counter()
                again = await parts.imports.run(path, BENCH, dry_run=False, parallel=parallel)
                rerun = time.perf_counter() - started
                events = await parts.store.head()
            finally:
                await parts.close()
                await pool.close()
    return {
        "rows": rows,
        "workers": workers,
        "file_written_s": round(written, 1),
        "import_s": round(took, 1),
        "check_s": round(first.seconds.get("checking", 0.0), 1),
        "apply_s": round(first.seconds.get("applying", 0.0), 1),
        "rows_per_s": round(rows / took),
        "events": events,
        "outcomes": dict(first.outcomes),
        "bad_rows": first.problem_count,
        "first_problem": first.problems[0].message if first.problems else None,
        "rerun_s": round(rerun, 1),
        "rerun_outcomes": dict(again.outcomes),
        "goal_1m_under_300s": rows >= 1_000_000 and took < 300,
    }
