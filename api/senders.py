"""The senders each channel goes out through, chosen from settings, the outbox worker on them,
and the webhook delivery worker.

With no SMTP host (or no SMS account) that channel's messages go to the dev outbox instead of a
provider, so the embedded demo works end to end without any. Used by `serve` and by the `worker`
command alike, so both send the same way.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import structlog

from adapters.email.smtp import smtp_sender
from adapters.metrics import MeteredSender
from adapters.postgres.dev_outbox import DevOutboxSender
from adapters.postgres.outbox_queue import OutboxWorker, PostgresOutboxQueue
from adapters.settings import Settings
from adapters.sms.twilio import TwilioSender
from adapters.webhooks.worker import WebhookWorker
from api.composition import Components, return_paths
from ledger.application.dispatch import Dispatcher, RetryPolicy
from ledger.ports import Sender
from ledger.vocabulary import Channel

log = structlog.get_logger(__name__)


def senders(parts: Components, http: httpx.AsyncClient) -> dict[Channel, Sender]:
    settings = parts.settings
    dev = DevOutboxSender(parts.pool, parts.contacts.keys, parts.contacts.sealer)
    email: Sender = smtp_sender(settings, return_paths(settings)) or dev
    sms: Sender = dev
    if settings.sms_account_sid and not (settings.sms_auth_token and settings.sms_from):
        log.warning(
            "OPTIN_SMS_ACCOUNT_SID needs OPTIN_SMS_AUTH_TOKEN and OPTIN_SMS_FROM; SMS go to the dev outbox"
        )
    if settings.sms_account_sid and settings.sms_auth_token and settings.sms_from:
        sms = TwilioSender(
            http,
            account_sid=settings.sms_account_sid,
            auth_token=settings.sms_auth_token,
            sender=settings.sms_from,
            status_callback=f"{settings.public_url}/v1/webhooks/sms/status",
        )
    log.info("senders", email=email.name, sms=sms.name)
    return {"email": MeteredSender(email, "email"), "sms": MeteredSender(sms, "sms")}


def sms_http_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=settings.sms_api_url, timeout=httpx.Timeout(15.0, connect=5.0))


def outbox_worker(parts: Components, http: httpx.AsyncClient) -> OutboxWorker:
    """The outbox worker: a dispatcher with the senders the settings choose."""
    settings = parts.settings
    queue = PostgresOutboxQueue(parts.pool, parts.clock)
    policy = RetryPolicy(
        max_attempts=settings.send_max_attempts, base=timedelta(seconds=settings.send_retry_seconds)
    )
    dispatcher = Dispatcher(
        parts.contacts,
        parts.composer,
        senders(parts, http),
        queue,
        parts.clock,
        policy,
        preferences=parts.preferences,
        quiet_hours=settings.compliance.quiet_hours_policy(),
    )
    return OutboxWorker(parts.pool, dispatcher, queue)


def webhook_worker(parts: Components, http: httpx.AsyncClient) -> WebhookWorker:
    """The signed webhook deliveries (Standard Webhooks), from their own outbox."""
    return WebhookWorker(parts.pool, parts.webhook_secrets, http, parts.clock)
