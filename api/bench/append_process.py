"""One writer process of `bench append`'s multi-process part: `tasks` tasks appending one event
per call through this process's own store, from a common start time, for `seconds`.

Several API replicas and the outbox worker each append through a store of their own, onto one
ledger head; this is that shape. Reads its settings as JSON on stdin (the DSN carries a password,
which a command line would show to every user of the machine); prints its counts as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.pool import create_pool
from api.bench import run_like_serve
from api.bench.append import appends_for


async def run(spec: dict[str, Any]) -> dict[str, int]:
    pool = await create_pool(spec["dsn"], role=spec["role"], schema=spec["schema"], min_size=4, max_size=8)
    store = PostgresEventStore(pool)
    try:
        await asyncio.sleep(max(0.0, spec["start_at"] - time.time()))
        appended = await appends_for(store, spec["seconds"], spec["tasks"])
    finally:
        await store.close()
        await pool.close()
    stats = store.stats
    return {
        "appended": appended,
        "batches": stats.batches,
        "rechained": stats.rechained,
        "head_moved": stats.head_moved,
    }


def main() -> None:
    print(json.dumps(run_like_serve(run(json.load(sys.stdin)))))


if __name__ == "__main__":
    main()
