"""The Litestar app: routes, middleware and problem details on the graph `api/composition.py` builds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.openapi import OpenAPIConfig

from adapters.postgres.availability import Availability
from adapters.postgres.pool import service_pools
from adapters.resilience import being_cancelled
from adapters.runtime import settle_heap
from adapters.settings import Settings
from api import fast_consent
from api.auth.middleware import authentication
from api.auth.openapi import SECURITY, security_components
from api.client_address import forwarded_client
from api.composition import Components, compose, open_read_pool, receipt_follower
from api.dependencies import APP_DEPENDENCIES
from api.dependency_order import resolve_plain_dependencies_in_turn
from api.email_feedback import start_email_feedback
from api.middleware import correlation_and_access_log
from api.openapi.contract import ContractJson
from api.openapi.docs_pages import OfflineSwagger, schema_router
from api.options import allow_every_method
from api.problems import EXCEPTION_HANDLERS
from api.request_bodies import BodyBudget, body_budget
from api.routes import (
    analytics,
    audit,
    auth,
    compliance,
    consent,
    consent_requests,
    contacts,
    email_feedback,
    evidence,
    exports,
    health,
    imports,
    ledger,
    messages,
    programs,
    public,
    receipt_links,
    templates,
    unsubscribe,
    users,
    webhook_endpoints,
    webhooks,
)
from api.senders import outbox_worker, sms_http_client, webhook_worker
from api.strict_json import StrictJsonRequest
from api.text_input import no_nul_text
from api.web.errors import page_aware
from api.web.rendering import template_config
from api.web.routers import web_routers
from api.web.security import security_headers
from ledger.application.retention import Retention
from ledger.default_templates import ensure_default_templates
from projections.health import sample_forever
from projections.merkle_tree import tree_follower

VERSION = "0.1.0"
log = structlog.get_logger(__name__)


async def _retention_forever(
    retention: Retention, keep_for: timedelta, every: timedelta, availability: Availability
) -> None:
    """Run retention now and then; failures are logged (outages by `availability`) and retried
    at the next round."""
    while True:
        try:
            report = await retention.run(keep_for)
            if report.erased or report.expired_codes or report.forgotten_hits or report.forgotten_orphans:
                log.info(
                    "retention",
                    erased=len(report.erased),
                    expired_codes=len(report.expired_codes),
                    forgotten_rate_limit_hits=report.forgotten_hits,
                    forgotten_unfinished_registrations=report.forgotten_orphans,
                )
        except Exception as e:
            if being_cancelled():
                raise asyncio.CancelledError from e
            if availability.noticed(e) is None:
                log.error("retention failed", exc_info=e)
        await asyncio.sleep(every.total_seconds())


def _background_tasks(
    parts: Components, availability: Availability, *, run_projections: bool
) -> list[asyncio.Task[None]]:
    """The projection runner and hourly retention, unless projections run elsewhere."""
    if not run_projections:
        return []
    keep_for = timedelta(days=parts.settings.retention_days)
    receipts = receipt_follower(parts)
    return [
        asyncio.create_task(parts.runner.run_forever()),
        asyncio.create_task(tree_follower(parts.pool, parts.settings).run_forever()),
        asyncio.create_task(_retention_forever(parts.retention, keep_for, timedelta(hours=1), availability)),
        *([asyncio.create_task(receipts.run_forever())] if receipts else []),
    ]


def create_app(settings: Settings, *, run_projections: bool = True, run_worker: bool = True) -> Litestar:
    """A ready-to-serve app; nothing connects until its lifespan starts.

    `settings.database_url` must name the database (the CLI starts the embedded one first).
    With `run_projections`, the projection runner follows the ledger inside this process; with
    `run_worker`, the outbox worker sends from it too. The default templates are recorded at
    start-up when missing.
    """
    if settings.database_url is None:
        raise ValueError("create_app needs settings.database_url (start the embedded server first)")
    if settings.kek is None or settings.index_key is None or settings.token_key is None:
        raise ValueError("create_app needs OPTIN_KEK, OPTIN_INDEX_KEY and OPTIN_TOKEN_KEY")

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        assert settings.database_url
        availability = app.state.availability = Availability.of_dsn(settings.database_url)
        pool, own_pool = await service_pools(
            settings, availability, projections=run_projections, worker=run_worker
        )
        parts = compose(settings, pool, replica=await open_read_pool(settings, pool))
        behind = compose(settings, own_pool) if own_pool else parts  # the background loops' graph
        app.state.components = parts
        await ensure_default_templates(parts.repository)
        feedback = app.state.email_feedback = await start_email_feedback(settings, pool, parts.contacts)
        http = sms_http_client(settings)
        background = _background_tasks(behind, availability, run_projections=run_projections)
        background.append(asyncio.create_task(sample_forever(behind.pool, list(parts.runner.projections))))
        if run_worker:
            background.append(asyncio.create_task(outbox_worker(behind, http).run_forever()))
            background.append(asyncio.create_task(webhook_worker(behind, http).run_forever()))
        settle_heap()
        try:
            yield
        finally:
            await parts.background.drain()
            await feedback.close()
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await http.aclose()
            for graph in {id(parts): parts, id(behind): behind}.values():
                await graph.close()
            for each in (pool, own_pool):
                if each is not None:
                    await each.close()
            await availability.close()

    config = AppConfig(
        route_handlers=[
            health.health,
            health.ready,
            contacts.ContactsController,
            programs.ProgramsController,
            consent.ConsentController,
            consent_requests.ConsentRequestsController,
            auth.token,
            users.UsersController,
            audit.AuditController,
            public.PublicController,
            *web_routers(settings),
            analytics.get_analytics,
            templates.TemplatesController,
            messages.MessagesController,
            webhooks.WebhooksController,
            email_feedback.EmailFeedbackController,
            webhook_endpoints.WebhookEndpointsController,
            imports.post_import,
            exports.export_consent,
            compliance.get_compliance,
            unsubscribe.UnsubscribeController,
            ledger.LedgerController,
            evidence.contact_evidence,
            evidence.my_receipts,
            *receipt_links.HANDLERS,
        ],
        template_config=template_config(),
        before_send=[security_headers, allow_every_method],
        lifespan=[lifespan],
        dependencies=APP_DEPENDENCIES,
        exception_handlers=page_aware(EXCEPTION_HANDLERS),
        request_max_body_size=1_048_576,
        request_class=StrictJsonRequest,
        middleware=[
            forwarded_client(settings.trusted_proxies),
            body_budget(BodyBudget()),
            no_nul_text,
            authentication,
        ],
        openapi_config=OpenAPIConfig(
            title="OptIn Ledger",
            version=VERSION,
            path="/schema",
            components=security_components(),
            security=SECURITY,
            render_plugins=[ContractJson(path=["/", "/openapi.json"]), OfflineSwagger()],
            openapi_router=schema_router(),
        ),
    )
    app = Litestar.from_config(config)
    resolve_plain_dependencies_in_turn(app)  # no task group per request for plain providers
    # Outside Litestar's handler, so the log sees every answer as sent (also a refusal raised in a
    # middleware, answered by the exception handler around it) and the hot path is logged alike.
    app.state.fast_consent = fast = fast_consent.FastConsent(app, app.asgi_handler)
    app.asgi_handler = correlation_and_access_log(fast)
    return app
