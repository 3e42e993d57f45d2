"""The composition root: the one place where settings, adapters, projections and routes meet."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import structlog
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, StoplightRenderPlugin, SwaggerRenderPlugin

from adapters.clock import SystemClock
from adapters.crypto.codes import HmacCodes
from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.erasure_log import erasure_log
from adapters.postgres.address_book import PostgresAddressBook
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.pool import create_pool
from adapters.postgres.rate_limits import PostgresRateLimiter
from adapters.resilience import being_cancelled
from adapters.runtime import settle_heap
from adapters.settings import Settings
from adapters.webhooks.worker import webhook_worker
from api.auth.middleware import authentication
from api.auth.openapi import SECURITY, security_components
from api.auth.services import create_auth_services
from api.messaging import sms_http_client, wire_messaging, wire_worker
from api.middleware import correlation_and_access_log
from api.problems import EXCEPTION_HANDLERS
from api.routes import (
    analytics,
    audit,
    auth,
    compliance,
    consent,
    contacts,
    exports,
    health,
    imports,
    messages,
    programs,
    public,
    templates,
    unsubscribe,
    users,
    webhook_endpoints,
    webhooks,
)
from api.services import Services, provide_min_position, provide_services
from api.web.rendering import template_config
from api.web.routers import web_routers
from api.web.security import security_headers
from ledger.consent_flows import ConsentFlows
from ledger.default_templates import ensure_default_templates
from ledger.guardrails import Guardrails, Limits
from ledger.registry import ContactRegistry
from ledger.repository import Repository
from ledger.retention import Retention
from projections import contacts as contacts_read
from projections import verifications as verifications_read
from projections.catalog import all_projections
from projections.runner import ProjectionRunner

VERSION = "0.1.0"
log = structlog.get_logger(__name__)


def wire_retention(settings: Settings, pool: asyncpg.Pool) -> Retention:
    """The retention service on a pool: for `serve`'s periodic run and the CLI."""
    assert settings.kek
    assert settings.index_key
    repository = Repository(PostgresEventStore(pool))
    keys = PostgresDataKeys(pool, settings.kek)
    registry = ContactRegistry(
        repository,
        keys,
        PostgresAddressBook(pool),
        NaclSealer(settings.index_key),
        erasure_log(settings.erasure_log_location),
    )
    return Retention(
        repository,
        registry,
        SystemClock(),
        idle_contacts=lambda before, limit: contacts_read.idle_without_consent(pool, before, limit),
        stale_codes=lambda now, limit: verifications_read.stale(pool, now, limit),
    )


async def _retention_forever(settings: Settings, pool: asyncpg.Pool, every: timedelta) -> None:
    """Run retention now and then; failures are logged and retried at the next round."""
    retention = wire_retention(settings, pool)
    while True:
        try:
            report = await retention.run(timedelta(days=settings.retention_days))
            if report.erased or report.expired_codes:
                log.info("retention", erased=len(report.erased), expired_codes=len(report.expired_codes))
        except Exception as e:
            if being_cancelled():
                raise asyncio.CancelledError from e
            log.error("retention failed", exc_info=e)
        await asyncio.sleep(every.total_seconds())


def create_app(settings: Settings, *, run_projections: bool = True, run_worker: bool = True) -> Litestar:
    """A ready-to-serve app; nothing connects until its lifespan starts.

    `settings.database_url` must name the database (the CLI starts the embedded one first).
    With `run_projections`, the projection runner follows the ledger inside this process; with
    `run_worker`, the outbox worker sends from it too. The default templates are recorded at
    start-up when missing.
    """
    if settings.database_url is None:
        raise ValueError("create_app needs settings.database_url (start the embedded server first)")
    dsn = settings.database_url
    if settings.kek is None or settings.index_key is None or settings.token_key is None:
        raise ValueError("create_app needs OPTIN_KEK, OPTIN_INDEX_KEY and OPTIN_TOKEN_KEY")
    kek, index_key, token_key = settings.kek, settings.index_key, settings.token_key

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await create_pool(dsn, role=settings.db_role)
        store = PostgresEventStore(pool)
        repository = Repository(store)
        registry = ContactRegistry(
            repository,
            PostgresDataKeys(pool, kek),
            PostgresAddressBook(pool),
            NaclSealer(index_key),
            erasure_log(settings.erasure_log_location),
        )
        app.state.services = Services(
            settings=settings,
            pool=pool,
            store=store,
            repository=repository,
            runner=ProjectionRunner(pool, all_projections(settings)),
            contacts=registry,
            flows=ConsentFlows(repository, registry, HmacCodes(token_key), SystemClock()),
            guardrails=Guardrails(
                PostgresRateLimiter(pool),
                repository,
                Limits(
                    sms_countries=settings.sms_allowed_countries,
                    sms_per_prefix=settings.sms_prefix_hourly_cap,
                    sms_total=settings.sms_hourly_cap,
                ),
            ),
        )
        app.state.auth = create_auth_services(settings, pool, repository)
        services: Services = app.state.services
        services.messaging = wire_messaging(settings, pool, services.flows, services.guardrails)
        await ensure_default_templates(repository)
        runner = services.runner
        http = sms_http_client(settings)
        background = (
            [
                asyncio.create_task(runner.run_forever()),
                asyncio.create_task(_retention_forever(settings, pool, timedelta(hours=1))),
            ]
            if run_projections
            else []
        )
        if run_worker:
            background.append(asyncio.create_task(wire_worker(settings, pool, registry, http).run_forever()))
            background.append(asyncio.create_task(webhook_worker(pool, kek, http).run_forever()))
        settle_heap()
        try:
            yield
        finally:
            await services.background.drain()
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await http.aclose()
            await store.close()
            await pool.close()

    config = AppConfig(
        route_handlers=[
            health.health,
            health.ready,
            contacts.ContactsController,
            programs.ProgramsController,
            consent.ConsentController,
            auth.token,
            users.UsersController,
            audit.AuditController,
            public.PublicController,
            *web_routers(settings),
            analytics.get_analytics,
            templates.TemplatesController,
            messages.MessagesController,
            webhooks.WebhooksController,
            webhook_endpoints.WebhookEndpointsController,
            imports.post_import,
            exports.export_consent,
            compliance.get_compliance,
            unsubscribe.UnsubscribeController,
        ],
        template_config=template_config(),
        before_send=[security_headers],
        lifespan=[lifespan],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "caught_up": Provide(provide_min_position),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=1_048_576,
        middleware=[correlation_and_access_log, authentication],
        openapi_config=OpenAPIConfig(
            title="Program Ledger",
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
