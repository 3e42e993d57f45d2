"""Wiring of email feedback: the intake, the provider verifiers, and the inbound SMTP listener.

Made in the app's lifespan (`start_email_feedback`) and kept on `app.state.email_feedback`; the
listener starts only when OPTIN_INBOUND_SMTP_PORT is set, and `close` stops it before the
database pool goes.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import asyncpg
import httpx

from adapters.clock import SystemClock
from adapters.email.feedback.intake import FeedbackIntake
from adapters.email.feedback.listener import InboundSmtp
from adapters.email.feedback.sendgrid import SendGridVerifier
from adapters.email.feedback.sns import SnsVerifier
from adapters.settings import Settings
from api.auth.tokens import InvalidTokenError
from api.composition import return_paths, unsubscribe_address, unsubscribe_tokens
from ledger.application.contacts import ContactRegistry
from ledger.application.email_feedback import EmailFeedback, SoftBounceRule
from ledger.vocabulary import Actor

LISTENER = Actor(kind="system", id="inbound-smtp")


@dataclass(slots=True)
class EmailFeedbackServices:
    intake: FeedbackIntake
    http: httpx.AsyncClient
    ses: SnsVerifier | None = None
    sendgrid: SendGridVerifier | None = None
    listener: InboundSmtp | None = None
    postmark: tuple[str, str] | None = None

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.close()
        await self.http.aclose()


def wire_intake(settings: Settings, pool: asyncpg.Pool, registry: ContactRegistry) -> FeedbackIntake:
    config = settings.email_feedback
    tokens = unsubscribe_tokens(settings)

    def named(token: str) -> tuple[UUID, UUID] | None:
        try:
            return tokens.verify(token)
        except InvalidTokenError:
            return None

    async def programs() -> list[UUID]:
        return [r["id"] for r in await pool.fetch("SELECT id FROM optins")]

    rule = SoftBounceRule(config.soft_bounce_limit, timedelta(days=config.soft_bounce_window_days))
    feedback = EmailFeedback(registry, programs, SystemClock(), rule)
    return FeedbackIntake(feedback, return_paths(settings), named)


async def start_email_feedback(
    settings: Settings, pool: asyncpg.Pool, registry: ContactRegistry
) -> EmailFeedbackServices:
    config = settings.email_feedback
    intake = wire_intake(settings, pool, registry)
    http = httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=config.ses_ca_file) if config.ses_ca_file else True,
        timeout=httpx.Timeout(10.0, connect=5.0),
        follow_redirects=False,
    )
    services = EmailFeedbackServices(intake=intake, http=http)
    if config.ses_topic_arns:
        services.ses = SnsVerifier(http, config.ses_topic_arns, config.ses_cert_hosts)
    if config.sendgrid_public_key:
        services.sendgrid = SendGridVerifier(config.sendgrid_public_key)
    if config.postmark_username and config.postmark_password:
        services.postmark = (config.postmark_username, config.postmark_password)
    if config.inbound_smtp_port is not None:
        services.listener = _listener(settings, intake)
        await services.listener.start()
    return services


def _listener(settings: Settings, intake: FeedbackIntake) -> InboundSmtp:
    config = settings.email_feedback
    paths = intake.paths
    unsubscribe = (unsubscribe_address(settings) or "").lower()

    def accepts(address: str) -> bool:
        address = address.strip().strip("<>").lower()
        local, _, domain = address.rpartition("@")
        ours = domain == paths.domain and local.partition("+")[0] == paths.local
        return ours or (bool(unsubscribe) and address == unsubscribe)

    async def deliver(raw: bytes, recipients: Sequence[str]) -> None:
        await intake.message(raw, via="smtp", actor=LISTENER, envelope_to=recipients)

    tls = None
    if config.inbound_smtp_tls_cert and config.inbound_smtp_tls_key:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(config.inbound_smtp_tls_cert, config.inbound_smtp_tls_key)
    assert config.inbound_smtp_port is not None
    return InboundSmtp(
        config.inbound_smtp_host,
        config.inbound_smtp_port,
        accepts,
        deliver,
        hostname=config.inbound_smtp_hostname or paths.domain,
        max_size=config.inbound_smtp_max_bytes,
        tls_context=tls,
    )
