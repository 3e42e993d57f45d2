"""An outgoing email as the exact bytes the SMTP server receives (and a DKIM signer would sign).

Built once with `email.policy.SMTP` (CRLF, 78-column folding) made 7-bit clean (`cte_type=7bit`:
non-ASCII bodies go quoted-printable or base64), so no relay has to re-encode it, and sent as
those bytes: nothing re-flattens the message after it is built. Two things get special care:

- `List-Unsubscribe` (RFC 2369, RFC 8058) is plain ASCII, `<https://…>, <mailto:…>`, folded only
  between the two links and never RFC 2047-encoded: mailbox providers and strict parsers look
  for the URLs in the raw header. The standard library would encode a long one (it treats the
  value as unstructured text), so this header has a folding rule of its own.
- Addresses: an internationalised domain goes out in its IDNA form (`xn--bcher-kva.de`); a
  non-ASCII local part cannot be written in ASCII at all, so such a message is built with UTF-8
  headers and must be sent with the SMTPUTF8 option (RFC 6531).
"""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from email import _header_value_parser
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate, parseaddr
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from adapters.email.feedback.postmark import HEADER as POSTMARK_METADATA
from ledger.ports import Outgoing

_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


class ListUnsubscribeHeader:
    """`List-Unsubscribe` as written: ASCII links in angle brackets, folded between links only."""

    max_count = 1

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        if not value.isascii():
            raise ValueError("List-Unsubscribe takes ASCII links only")
        kwds["decoded"] = " ".join(value.split())  # unfolded
        kwds["parse_tree"] = _header_value_parser.get_unstructured(kwds["decoded"])

    def fold(self, *, policy: EmailPolicy[Any]) -> str:
        name, links = self.name, [link.strip() for link in str(self).split(",")]  # type: ignore[attr-defined]
        lines, line = [], f"{name}: {links[0]}"
        for link in links[1:]:
            if len(line) + len(link) + 2 > policy.max_line_length:  # type: ignore[operator]
                lines.append(line + ",")
                line = " " + link  # a link is never broken: it goes whole onto its own line
            else:
                line += ", " + link
        lines.append(line)
        return policy.linesep.join(lines) + policy.linesep


def _policy(utf8: bool) -> EmailPolicy[EmailMessage]:
    registry = HeaderRegistry()
    registry.map_to_type("list-unsubscribe", ListUnsubscribeHeader)  # type: ignore[arg-type]  # a mixin
    base = email.policy.SMTPUTF8 if utf8 else email.policy.SMTP
    return base.clone(cte_type="7bit", header_factory=registry)


@dataclass(frozen=True, slots=True)
class EmailBytes:
    """The message as sent, and its envelope."""

    data: bytes
    envelope_from: str
    recipient: str
    smtputf8: bool
    message_id: str


def ascii_address(address: str) -> str:
    """The address with its domain in IDNA form: ASCII whenever the local part is."""
    local, _, domain = address.rpartition("@")
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return address


def ascii_url(url: str) -> str:
    """A link as ASCII: IDNA host, percent-encoded path and query (a header cannot carry more)."""
    if url.isascii():
        return url
    parts = urlsplit(url)
    host = parts.hostname.encode("idna").decode("ascii") if parts.hostname else ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    if parts.username is not None or parts.scheme == "mailto":
        return quote(url, safe=_URL_SAFE)
    return urlunsplit((parts.scheme, netloc, *(quote(p, safe=_URL_SAFE) for p in parts[2:])))


def build_email(
    outgoing: Outgoing, sender: str, *, date: str | None = None, feedback_token: str | None = None
) -> EmailBytes:
    """The bytes of one email, built once; `date` defaults to now; `feedback_token` (the VERP
    token) goes in Postmark's metadata header so its webhooks name the message."""
    sender_address = ascii_address(parseaddr(sender)[1])
    domain = sender_address.rpartition("@")[2] or "localhost"
    recipient = ascii_address(outgoing.to)
    utf8 = not recipient.isascii()
    mail = EmailMessage(policy=_policy(utf8))
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = outgoing.subject or ""
    mail["Date"] = date or formatdate(usegmt=True)
    message_id = f"<{outgoing.message_id}@{domain}>"
    mail["Message-ID"] = message_id
    if outgoing.unsubscribe_url:
        links = [u for u in (outgoing.unsubscribe_url, outgoing.unsubscribe_mailto) if u]
        mail["List-Unsubscribe"] = ", ".join(f"<{ascii_url(u)}>" for u in links)
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if feedback_token:
        mail[POSTMARK_METADATA] = feedback_token
    mail.set_content(outgoing.text)
    if outgoing.html:
        mail.add_alternative(outgoing.html, subtype="html")
    return EmailBytes(mail.as_bytes(), sender_address, recipient, utf8, message_id)
