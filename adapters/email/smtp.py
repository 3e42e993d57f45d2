"""Email over SMTP (aiosmtplib): TLS or STARTTLS and login from settings, RFC 8058 headers.

Every marketing email and opt-in invite carries `List-Unsubscribe` (the signed https link, and a
mailto) and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, so mail clients offer a one-click
unsubscribe (`adapters/email/message_bytes.py` writes them). The message id is the `Message-ID`: a
retried send is recognisably the same mail. With return paths configured, the envelope sender is
the message's signed VERP address (bounces come back naming it; adapters/email/feedback/verp.py),
and the same token rides in Postmark's metadata header so its webhooks name the message too. A
refusal is logged and raised with the server's own words (scrubbed); `probe` checks the set-up
once (connect, EHLO, TLS as configured, login, QUIT).
"""

from __future__ import annotations

import aiosmtplib
import structlog

from adapters.email.feedback.verp import ReturnPaths
from adapters.email.message_bytes import build_email
from adapters.email.smtp_errors import SmtpSetup, send_error, setup_error
from adapters.settings import Settings, SmtpTls
from ledger.ports import Outgoing

log = structlog.get_logger(__name__)


class SmtpSender:
    """`ledger.ports.Sender` for the email channel."""

    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        tls: SmtpTls,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        timeout: float = 30.0,
        return_paths: ReturnPaths | None = None,
    ) -> None:
        self._setup = SmtpSetup(host, port, tls, username, timeout)
        self._paths = return_paths
        self._ca_file = ca_file
        self._sender = sender
        self._password = password

    def _client(self) -> aiosmtplib.SMTP:
        setup = self._setup
        return aiosmtplib.SMTP(
            hostname=setup.host,
            port=setup.port,
            username=setup.username,
            password=self._password,
            use_tls=setup.tls == "tls",
            start_tls=setup.tls == "starttls",
            cert_bundle=self._ca_file,
            timeout=setup.timeout,
        )

    async def send(self, outgoing: Outgoing) -> str:
        paths = self._paths
        token = paths.token(outgoing.message_id) if paths else None
        mail = build_email(outgoing, self._sender, feedback_token=token)
        try:
            async with self._client() as client:  # connect, EHLO, TLS as configured, login
                await client.sendmail(
                    paths.address(outgoing.message_id) if paths else mail.envelope_from,
                    [mail.recipient],
                    mail.data,  # the exact bytes built: nothing re-encodes the message
                    mail_options=["SMTPUTF8"] if mail.smtputf8 else None,
                )
        except (aiosmtplib.SMTPException, OSError) as e:
            error = send_error(e, outgoing.to)
            log.warning(
                "email.send_failed",
                message_id=str(outgoing.message_id),
                category=error.category,
                code=error.code,
                permanent=error.permanent,
                detail=str(error),
            )
            raise error from None
        return mail.message_id

    async def probe(self) -> str:
        """Connect, EHLO, TLS as configured, log in if configured, QUIT; what worked, or
        `SmtpSetupError` saying what to change."""
        setup = self._setup
        try:
            async with self._client() as client:  # QUIT on the way out
                await client.ehlo()
        except (aiosmtplib.SMTPException, OSError) as e:
            raise setup_error(e, setup) from None
        login = f", logged in as {setup.username}" if setup.username else ""
        return f"SMTP server {setup.where} ({setup.tls}{login})"


def smtp_sender(settings: Settings, return_paths: ReturnPaths | None = None) -> SmtpSender | None:
    """The SMTP sender the settings describe; None without `OPTIN_SMTP_HOST` (the dev outbox)."""
    if not settings.smtp_host:
        return None
    return SmtpSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        tls=settings.smtp_tls,
        sender=settings.email_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        ca_file=settings.smtp_ca_file,
        timeout=settings.smtp_timeout,
        return_paths=return_paths,
    )
