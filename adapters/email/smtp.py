"""Email over SMTP (aiosmtplib): TLS or STARTTLS and login from settings, RFC 8058 headers.

Every marketing email carries `List-Unsubscribe` (the signed https link, and a mailto) and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`, so mail clients offer a one-click
unsubscribe. The message id is the `Message-ID`: a retried send is recognisably the same mail.
With return paths configured, the envelope sender is the message's signed VERP address (bounces
come back naming it; adapters/email/feedback/verp.py), and the same token rides in Postmark's
metadata header so its webhooks name the message too.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib

from adapters.email.feedback.postmark import HEADER as POSTMARK_METADATA
from adapters.email.feedback.verp import ReturnPaths
from adapters.settings import SmtpTls
from ledger.masking import scrub
from ledger.ports import Outgoing, SendError


def build_email(outgoing: Outgoing, sender: str, feedback_token: str | None = None) -> EmailMessage:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = outgoing.to
    mail["Subject"] = outgoing.subject or ""
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = f"<{outgoing.message_id}@{domain}>"
    links = [u for u in (outgoing.unsubscribe_url, outgoing.unsubscribe_mailto) if u]
    if outgoing.unsubscribe_url:
        mail["List-Unsubscribe"] = ", ".join(f"<{u}>" for u in links)
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if feedback_token:
        mail[POSTMARK_METADATA] = feedback_token
    mail.set_content(outgoing.text)
    if outgoing.html:
        mail.add_alternative(outgoing.html, subtype="html")
    return mail


class SmtpSender:
    """`ledger.application.dispatch.Sender` for the email channel."""

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
        self._host, self._port, self._tls = host, port, tls
        self._ca_file = ca_file
        self._sender = sender
        self._username, self._password = username, password
        self._timeout = timeout
        self._paths = return_paths

    async def send(self, outgoing: Outgoing) -> str:
        paths = self._paths
        mail = build_email(outgoing, self._sender, paths.token(outgoing.message_id) if paths else None)
        try:
            await aiosmtplib.send(
                mail,
                sender=paths.address(outgoing.message_id) if paths else None,
                recipients=[outgoing.to],
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._tls == "tls",
                start_tls=self._tls == "starttls",
                cert_bundle=self._ca_file,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as e:
            codes = [r.code for r in e.recipients]
            raise SendError(f"recipient refused ({codes})", permanent=all(c >= 500 for c in codes)) from None
        except aiosmtplib.SMTPAuthenticationError as e:  # fixable by the operator: keep retrying
            raise SendError(f"SMTP login refused ({e.code})") from None
        except aiosmtplib.SMTPResponseException as e:
            raise SendError(f"SMTP {e.code}: {scrub(e.message)[:200]}", permanent=e.code >= 500) from None
        except (aiosmtplib.SMTPException, OSError) as e:
            raise SendError(f"SMTP unavailable: {type(e).__name__}") from None
        return str(mail["Message-ID"])
