"""`serve`, `migrate`, `project`: run the service, its migrations, or its projections alone."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import structlog
import uvicorn
from litestar import Litestar

from adapters.erasure_log import prepare_erasure_log
from adapters.heartbeat import beating
from adapters.metrics import serve_metrics
from adapters.postgres.leadership import AdvisoryLockLeadership
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import settings_pool
from api.app import create_app
from api.commands.check import probe_email_at_start
from api.commands.runtime import prepare
from api.commands.users import DEMO_ADMIN_EMAIL, ensure_demo_admin
from api.composition import compose, receipt_follower
from projections.health import sample_forever
from projections.merkle_tree import tree_follower

log = structlog.get_logger(__name__)


def serve(
    host: str, port: int, data_dir: Path | None, run_projections: bool, *, run_worker: bool = True
) -> int:
    settings = prepare(data_dir)
    assert settings.database_url
    if run_worker:
        probe_email_at_start(settings)
    asyncio.run(migrate(settings.database_url))
    asyncio.run(prepare_erasure_log(settings.erasure_log_location))  # a restore needs it to exist
    if settings.demo:
        _announce_demo_admin(asyncio.run(ensure_demo_admin(settings)))
    app = create_app(settings, run_projections=run_projections, run_worker=run_worker)
    serve_metrics(settings.metrics_host, settings.metrics_port)
    log.info("serving", url=f"http://{host}:{port}", schema=f"http://{host}:{port}/schema/swagger")
    # uvicorn re-raises the interrupt once it has shut down cleanly
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(server_config(app, host, port)).run()
    return 0


def server_config(app: Litestar, host: str, port: int) -> uvicorn.Config:
    """How `serve` runs the app. Forwarded headers are the app's business (`api/client_address.py`,
    `OPTIN_TRUSTED_PROXIES`): uvicorn's own handling would believe any loopback peer."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        proxy_headers=False,
        timeout_graceful_shutdown=20,  # requests still running then are cut off; stopping must end
    )


def _announce_demo_admin(password: str | None) -> None:
    if password is None:
        return
    log.warning("created the demo admin; its password is printed once on standard output")
    # Printed, not logged: the password goes to the operator's terminal, never into the log stream.
    print(
        f"\n  Demo admin (shown once): email {DEMO_ADMIN_EMAIL}  password {password}\n"
        "  Log in at /console, or with POST /v1/auth/token (form fields username, password).\n",
        flush=True,
    )


def run_migrations(data_dir: Path | None) -> int:
    settings = prepare(data_dir, needs_secrets=False)
    assert settings.database_url
    applied = asyncio.run(migrate(settings.database_url))
    asyncio.run(prepare_erasure_log(settings.erasure_log_location))  # a restore needs it to exist
    print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
    return 0


def project(data_dir: Path | None) -> int:
    """Run only the projection runner (for deployments that split it out of the API).

    Any number of replicas may run this: a session advisory lock elects the one that applies
    events; the others stay connected as hot standbys and take over when its session ends.
    """
    settings = prepare(data_dir)
    assert settings.database_url
    dsn = settings.database_url
    serve_metrics(settings.metrics_host, settings.metrics_port)

    async def run() -> None:
        await migrate(dsn)
        pool = await settings_pool(settings)
        parts = compose(settings, pool)
        sampler = asyncio.create_task(sample_forever(pool, list(parts.runner.projections)))  # lag metrics
        try:
            tree, receipts = tree_follower(pool, settings), receipt_follower(parts)

            async def follow() -> None:
                followers = [parts.runner.run_forever(), tree.run_forever()]
                await asyncio.gather(*followers, *([receipts.run_forever()] if receipts else []))

            async with beating(pool, settings.data_dir):  # the chart's liveness and readiness probes
                await AdvisoryLockLeadership(dsn, name="optin-ledger projector").run(follow)
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            await parts.close()
            await pool.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0
