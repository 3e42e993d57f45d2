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

from adapters.heartbeat import beating
from adapters.metrics import serve_metrics
from adapters.postgres.availability import Availability
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import settings_pool
from api.commands.check import probe_email_at_start
from api.commands.runtime import prepare, reach_database
from api.composition import compose
from api.senders import outbox_worker, sms_http_client, webhook_worker
from ledger.default_templates import ensure_default_templates

log = structlog.get_logger(__name__)


def worker(data_dir: Path | None) -> int:
    settings = prepare(data_dir)
    assert settings.database_url
    reach_database(settings)
    probe_email_at_start(settings)
    dsn = settings.database_url
    serve_metrics(settings.metrics_host, settings.metrics_port)

    async def run() -> None:
        await migrate(dsn)
        availability = Availability.of_dsn(dsn)
        pool = await settings_pool(settings, min_size=1, max_size=8, availability=availability)
        parts = compose(settings, pool)
        http = sms_http_client(settings)
        try:
            await ensure_default_templates(parts.repository)
            log.info("outbox worker started")
            async with beating(pool, settings.data_dir):  # the chart's liveness and readiness probes
                await asyncio.gather(  # messages, and signed webhooks
                    outbox_worker(parts, http).run_forever(),
                    webhook_worker(parts, http).run_forever(),
                )
        finally:
            await http.aclose()
            await parts.close()
            await pool.close()
            await availability.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0
