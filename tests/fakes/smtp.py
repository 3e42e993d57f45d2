"""A real SMTP server on localhost (aiosmtpd) that keeps what it receives and can refuse on demand."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME, PASSWORD = "mailer", "mail-secret-1"


@dataclass
class Mailbox:
    received: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    """Each accepted message exactly as it came over the wire (dot-unstuffed), beside `received`."""
    envelopes: list[tuple[str, list[str], list[str]]] = field(default_factory=list)
    """Each accepted message's MAIL FROM, RCPT TO and MAIL options (e.g. SMTPUTF8)."""
    refuse_next: list[str] = field(default_factory=list)
    """SMTP replies to give instead of accepting, one per incoming message (e.g. "451 later")."""
    logins: list[str] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)
    """The envelope sender (MAIL FROM) of each message received, in order."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_next:
            return self.refuse_next.pop(0)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.raw.append(envelope.original_content)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), list(envelope.mail_options)))
        self.received.append(message)
        self.senders.append(envelope.mail_from)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USERNAME.encode(),
            PASSWORD.encode(),
        )
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if m["To"] == address]

    def raw_to(self, address: str) -> list[bytes]:
        return [raw for raw, m in zip(self.raw, self.received, strict=True) if m["To"] == address]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smtp_server(
    tls: str = "none", server_context: ssl.SSLContext | None = None
) -> Iterator[tuple[Mailbox, int]]:
    """Run the server in its own thread for one test; yields the mailbox and the port.

    `tls`: `none`; `starttls` (TLS required before MAIL and before the login); `tls` (implicit).
    """
    mailbox, port = Mailbox(), free_port()
    options: dict[str, Any] = {"auth_require_tls": False}
    if tls == "starttls":
        options |= {"tls_context": server_context, "require_starttls": True, "auth_require_tls": True}
    elif tls == "tls":
        options |= {"ssl_context": server_context}
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=mailbox.authenticate,
        auth_required=True,
        **options,
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
