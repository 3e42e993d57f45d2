"""The composition root: the one place where settings, adapters, projections and routes meet."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, StoplightRenderPlugin, SwaggerRenderPlugin

from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.pool import create_pool
from adapters.settings import Settings
from api.auth.middleware import authentication
from api.auth.openapi import SECURITY, security_components
from api.auth.services import create_auth_services
from api.middleware import correlation_and_access_log
from api.problems import EXCEPTION_HANDLERS
from api.routes import audit, auth, health, users
from api.services import Services, provide_min_position, provide_services
from ledger.repository import Repository
from projections.catalog import all_projections
from projections.runner import ProjectionRunner

VERSION = "0.1.0"


def create_app(settings: Settings, *, run_projections: bool = True) -> Litestar:
    """A ready-to-serve app; nothing connects until its lifespan starts.

    `settings.database_url` must name the database (the CLI starts the embedded one first).
    With `run_projections`, the projection runner follows the ledger inside this process.
    """
    if settings.database_url is None:
        raise ValueError("create_app needs settings.database_url (start the embedded server first)")
    dsn = settings.database_url

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(dsn, role=settings.db_role)
        store = PostgresEventStore(pool)
        runner = ProjectionRunner(pool, all_projections())
        repository = Repository(store)
        app.state.services = Services(
            settings=settings, pool=pool, store=store, repository=repository, runner=runner
        )
        app.state.auth = create_auth_services(settings, pool, repository)
        background = asyncio.create_task(runner.run_forever()) if run_projections else None
        try:
            yield
        finally:
            if background:
                background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await background
            await store.close()
            await pool.close()

    config = AppConfig(
        route_handlers=[
            health.health,
            health.ready,
            auth.token,
            users.UsersController,
            audit.AuditController,
        ],
        lifespan=[lifespan],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "caught_up": Provide(provide_min_position),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=1_048_576,
        middleware=[correlation_and_access_log, authentication],
        openapi_config=OpenAPIConfig(
            title="OptIn Ledger",
            version=VERSION,
            path="/schema",
            components=security_components(),
            security=SECURITY,
            render_plugins=[
                JsonRenderPlugin(path=["/", "/openapi.json"]),
                SwaggerRenderPlugin(),
                StoplightRenderPlugin(),
            ],
        ),
    )
    return Litestar.from_config(config)
