"""What a failed SMTP exchange means: for a send (a category, retry or not) and for the set-up
check (a sentence naming the setting to change). The server's own words are kept, scrubbed.

A configuration error - a TLS mode the server does not speak, an untrusted certificate, a refused
login, a host name that does not resolve - is `fatal` for the start-up check: `serve` and
`worker` refuse to start rather than retry a message for hours against a server that will never
take it. A refused connection or a timeout may be a server that is not up yet: reported, not fatal.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import aiosmtplib

from ledger.masking import scrub
from ledger.send_failure import FailureCategory, SendError


@dataclass(frozen=True, slots=True)
class SmtpSetup:
    host: str
    port: int
    tls: str
    username: str | None
    timeout: float

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


class SmtpSetupError(Exception):
    """The configured SMTP server cannot be used as configured; the message says what to change."""

    def __init__(self, message: str, *, fatal: bool) -> None:
        super().__init__(message)
        self.fatal = fatal


def send_error(error: Exception, recipient: str) -> SendError:
    """A failed send as the dispatcher records it: category, code, the server's words scrubbed."""
    text = scrub(_words(error), recipient)[:300]
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in error.recipients]
        permanent = all(c >= 500 for c in codes)
        category: FailureCategory = "recipient_refused" if permanent else "deferred"
        return SendError(text, permanent=permanent, category=category, code=str(codes[0]))
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):  # the operator can fix it: retried
        return SendError(text, category="auth_refused", code=str(error.code))
    if isinstance(error, aiosmtplib.SMTPResponseException):
        permanent = error.code >= 500
        return SendError(text, permanent=permanent, category="rejected" if permanent else "deferred",
                         code=str(error.code))  # fmt: skip
    if isinstance(error, aiosmtplib.SMTPNotSupported) and "SMTPUTF8" in str(error):
        return SendError(text, permanent=True, category="rejected")  # cannot take this address
    if _tls_problem(error):
        return SendError(text, category="tls_failed")
    if isinstance(error, OSError | aiosmtplib.SMTPTimeoutError):
        return SendError(text, category="unreachable")
    return SendError(text, category="provider_error")


# Configuration errors, in the order they are told apart: (does it apply, what to say).
_MISCONFIGURED: tuple[tuple[Callable[[Exception, str, SmtpSetup], bool], str], ...] = (
    (lambda e, w, s: isinstance(e, aiosmtplib.SMTPAuthenticationError),
     "the SMTP server at {at} refused the login of OPTIN_SMTP_USERNAME ({words}): "
     "check OPTIN_SMTP_USERNAME and OPTIN_SMTP_PASSWORD"),
    (lambda e, w, s: "STARTTLS extension not supported" in w,
     "the SMTP server at {at} does not offer STARTTLS, and OPTIN_SMTP_TLS is starttls (the default): "
     "for implicit TLS (usually port 465) set OPTIN_SMTP_TLS=tls; for a plain server on a trusted "
     "network, OPTIN_SMTP_TLS=none"),
    (lambda e, w, s: "AUTH extension is not supported" in w,
     "the SMTP server at {at} offers no login on this connection ({words}): set "
     "OPTIN_SMTP_TLS=starttls or tls, or leave OPTIN_SMTP_USERNAME unset"),
    (lambda e, w, s: "wrong_version_number" in w.lower().replace(" ", "_"),
     "the SMTP server at {at} does not speak TLS from the first byte, and OPTIN_SMTP_TLS is tls "
     "({words}): use OPTIN_SMTP_TLS=starttls (usually port 587) or none"),
    (lambda e, w, s: _certificate_problem(e),
     "the certificate of the SMTP server at {at} is not trusted ({words}): give its CA bundle in "
     "OPTIN_SMTP_CA_FILE, or use the host name the certificate names"),
    (lambda e, w, s: "waiting for server ready message" in w and s.tls != "tls",
     "the SMTP server at {at} took the connection but sent no greeting within {timeout} s: if it "
     "expects TLS from the first byte (usually port 465), set OPTIN_SMTP_TLS=tls"),
    (lambda e, w, s: _unknown_host(e), "OPTIN_SMTP_HOST={host} does not resolve ({words})"),
)  # fmt: skip


def setup_error(error: Exception, setup: SmtpSetup) -> SmtpSetupError:
    """A failed probe as a sentence an operator can act on."""
    words = scrub(_words(error))
    told = {"at": setup.where, "words": words, "host": setup.host, "timeout": f"{setup.timeout:g}"}
    for applies, says in _MISCONFIGURED:
        if applies(error, words, setup):
            return SmtpSetupError(says.format(**told), fatal=True)
    return SmtpSetupError(
        f"the SMTP server at {setup.where} does not answer now ({words}): is it up, and are "
        "OPTIN_SMTP_HOST and OPTIN_SMTP_PORT right?",
        fatal=False,
    )


def _words(error: Exception) -> str:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.code} {r.message}" for r in error.recipients)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{error.code} {error.message}"
    return str(error) or type(error).__name__


def _tls_problem(error: BaseException) -> bool:
    text = str(error)
    return (
        isinstance(error, ssl.SSLError | aiosmtplib.SMTPNotSupported)
        or isinstance(error.__cause__, ssl.SSLError)
        or "STARTTLS" in text
        or "SSL" in text
    )


def _certificate_problem(error: BaseException) -> bool:
    return isinstance(error, ssl.SSLCertVerificationError) or isinstance(
        error.__cause__, ssl.SSLCertVerificationError
    )


def _unknown_host(error: BaseException) -> bool:
    cause = error.__cause__
    unknown = (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME))
    return isinstance(cause, socket.gaierror) and cause.errno in unknown
