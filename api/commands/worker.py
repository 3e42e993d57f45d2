"""`worker`: run only the outbox worker (deployments that split sending out of the API).

Any number may run: jobs are leased row by row (`FOR UPDATE SKIP LOCKED`), so no two workers
send one message at the same time. The outbox itself is a projection: `project` (or `serve`)
must run somewhere to fill it.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import structlog

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool
from adapters.webhooks.worker import webhook_worker
from api.commands.runtime import prepare
from api.messaging import sms_http_client, wire_registry, wire_worker
from ledger.default_templates import ensure_default_templates

log = structlog.get_logger(__name__)


def worker(data_dir: Path | None) -> int:
    settings = prepare(data_dir)
    assert settings.database_url
    dsn = settings.database_url

    async def run() -> None:
        await migrate(dsn)
        pool = await create_pool(dsn, role=settings.db_role, min_size=1, max_size=8)
        store = PostgresEventStore(pool)
        http = sms_http_client(settings)
        try:
            registry = wire_registry(settings, pool, store)
            await ensure_default_templates(registry.repository)
            log.info("outbox worker started")
            assert settings.kek
            await asyncio.gather(  # messages, and signed webhooks (issue 18)
                wire_worker(settings, pool, registry, http).run_forever(),
                webhook_worker(pool, settings.kek, http).run_forever(),
            )
        finally:
            await http.aclose()
            await store.close()
            await pool.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0
