"""Wiring of the messaging side: senders chosen from settings, the services, and the outbox worker.

With no SMTP host (or no SMS account) that channel's messages go to the dev outbox instead of a
provider, so the embedded demo works end to end without any. Used by `create_app` and by the
`worker` command, so both send the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from uuid import UUID

import asyncpg
import httpx
import structlog

from adapters.clock import SystemClock
from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.email.smtp import SmtpSender
from adapters.postgres.address_book import PostgresAddressBook
from adapters.postgres.dev_outbox import DevOutboxSender
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.outbox_queue import OutboxWorker, PostgresOutboxQueue
from adapters.settings import Settings
from adapters.sms.twilio import TwilioSender
from api.auth.unsubscribe_tokens import UnsubscribeTokens
from ledger.channel_preferences import ChannelPreferences
from ledger.composer import Composer
from ledger.consent_flows import ConsentFlows
from ledger.dispatch import Dispatcher, RetryPolicy, Sender
from ledger.guardrails import Guardrails
from ledger.inbound_revocation import InboundRevocation
from ledger.inbound_sms import InboundSms
from ledger.keywords import Keywords
from ledger.messaging import Messaging
from ledger.registry import ContactRegistry
from ledger.repository import Repository
from ledger.revocation import RevocationClassifier
from ledger.unsubscribe import Unsubscribe
from ledger.vocabulary import Channel

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class MessagingServices:
    tokens: UnsubscribeTokens
    composer: Composer
    messaging: Messaging
    inbound: InboundSms
    unsubscribe: Unsubscribe


def unsubscribe_tokens(settings: Settings) -> UnsubscribeTokens:
    assert settings.token_key
    domain = parseaddr(settings.email_from)[1].rpartition("@")[2]
    mailto = settings.unsubscribe_mailto or (f"unsubscribe@{domain}" if domain else None)
    return UnsubscribeTokens(settings.token_key, settings.public_url, mailto)


def wire_messaging(
    settings: Settings, pool: asyncpg.Pool, flows: ConsentFlows, guardrails: Guardrails
) -> MessagingServices:
    tokens = unsubscribe_tokens(settings)
    registry = flows.registry
    composer = Composer(flows.repository, registry.sealer, tokens)

    async def programs() -> list[UUID]:
        return [r["id"] for r in await pool.fetch("SELECT id FROM optins")]

    preferences = ChannelPreferences(flows.repository, programs)
    keywords = Keywords(
        stop=frozenset(settings.sms_stop_keywords),
        start=frozenset(settings.sms_start_keywords),
        help=frozenset(settings.sms_help_keywords),
    )
    return MessagingServices(
        tokens=tokens,
        composer=composer,
        messaging=Messaging(composer, flows, guardrails),
        inbound=InboundSms(
            registry,
            preferences,
            composer,
            keywords,
            help_text=settings.sms_help_text,
            sender_name=settings.sender_name,
            revocation=InboundRevocation(
                registry,
                preferences,
                RevocationClassifier.for_keywords(settings.sms_stop_keywords),
                settings.compliance.deadline_policy(),
                settings.compliance.review_time,
                SystemClock(),
            ),
        ),
        unsubscribe=Unsubscribe(registry, preferences),
    )


def senders(
    settings: Settings, pool: asyncpg.Pool, registry: ContactRegistry, http: httpx.AsyncClient
) -> dict[Channel, Sender]:
    dev = DevOutboxSender(pool, registry.keys, registry.sealer)
    email: Sender = dev
    if settings.smtp_host:
        email = SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            sender=settings.email_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            ca_file=settings.smtp_ca_file,
        )
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
    return {"email": email, "sms": sms}


def sms_http_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=settings.sms_api_url, timeout=httpx.Timeout(15.0, connect=5.0))


def wire_registry(settings: Settings, pool: asyncpg.Pool, store: PostgresEventStore) -> ContactRegistry:
    assert settings.kek and settings.index_key
    return ContactRegistry(
        Repository(store),
        PostgresDataKeys(pool, settings.kek),
        PostgresAddressBook(pool),
        NaclSealer(settings.index_key),
    )


def wire_worker(
    settings: Settings, pool: asyncpg.Pool, registry: ContactRegistry, http: httpx.AsyncClient
) -> OutboxWorker:
    """The outbox worker: a dispatcher with the senders the settings choose, on `pool`."""
    repository = registry.repository
    clock = SystemClock()
    queue = PostgresOutboxQueue(pool, clock)
    composer = Composer(repository, registry.sealer, unsubscribe_tokens(settings))
    policy = RetryPolicy(
        max_attempts=settings.send_max_attempts, base=timedelta(seconds=settings.send_retry_seconds)
    )
    dispatcher = Dispatcher(
        registry, composer, senders(settings, pool, registry, http), queue, clock, policy,
        quiet_hours=settings.compliance.quiet_hours_policy(),
    )  # fmt: skip
    return OutboxWorker(pool, dispatcher, queue)
