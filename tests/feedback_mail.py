"""Real feedback messages, built with the standard library's `email` package as mail systems send them.

- `dsn`: an RFC 3464 delivery status notification (`multipart/report; report-type=delivery-status`)
  with a human part, the `message/delivery-status` blocks and the returned original;
- `arf`: an RFC 5965 abuse report (`multipart/report; report-type=feedback-report`) with the
  `message/feedback-report` fields and the original message;
- `reply`: what a mail client sends for a `List-Unsubscribe` mailto.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage, Message
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib


def _fields(**values: str) -> Message:
    block = Message()
    for name, value in values.items():
        block[name.replace("_", "-")] = value
    return block


def dsn(
    *,
    to: str,
    original: EmailMessage,
    final_recipient: str,
    status: str = "5.1.1",
    action: str = "failed",
    diagnostic: str = "smtp; 550 5.1.1 The email account that you tried to reach does not exist",
    headers_only: bool = False,
) -> MIMEMultipart:
    """A bounce from the recipient's MTA, addressed to the envelope sender (`to`)."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.net>"
    report["To"] = to
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = formatdate(usegmt=True)
    report["Message-ID"] = make_msgid(domain="mx.example.net")
    report["Auto-Submitted"] = "auto-replied"
    report.attach(MIMEText("I'm sorry to have to inform you that your message could not be delivered.\n"))
    status_part = Message()
    status_part.set_type("message/delivery-status")
    status_part.set_payload(
        [
            _fields(Reporting_MTA="dns; mx.example.net", Arrival_Date=formatdate(usegmt=True)),
            _fields(
                Final_Recipient=f"rfc822; {final_recipient}",
                Original_Recipient=f"rfc822; {final_recipient}",
                Action=action,
                Status=status,
                Remote_MTA="dns; mailbox.example.net",
                Diagnostic_Code=diagnostic,
            ),
        ]
    )
    report.attach(status_part)
    if headers_only:
        headers = "".join(f"{k}: {v}\n" for k, v in original.items())
        part = MIMEText(headers, "rfc822-headers")
        report.attach(part)
    else:
        report.attach(MIMEMessage(original))
    return report


def arf(*, to: str, original: EmailMessage, feedback_type: str = "abuse") -> MIMEMultipart:
    """A mailbox provider's feedback-loop report that the recipient marked the message as spam."""
    report = MIMEMultipart("report", report_type="feedback-report")
    report["From"] = "Feedback Loop <fbl@mailbox.example.net>"
    report["To"] = to
    report["Subject"] = "FW: " + str(original["Subject"] or "")
    report["Date"] = formatdate(usegmt=True)
    report["Message-ID"] = make_msgid(domain="mailbox.example.net")
    report.attach(MIMEText("This is an email abuse report for an email message received.\n"))
    fields = _fields(
        Feedback_Type=feedback_type,
        User_Agent="ExampleFBL/1.0",
        Version="1",
        Original_Mail_From=str(original.get("Return-Path", "")),
        Arrival_Date=formatdate(usegmt=True),
        Source_IP="192.0.2.1",
    )
    report.attach(MIMEMessage(fields, "feedback-report"))
    report.attach(MIMEMessage(original))
    return report


def as_delivered(mail: EmailMessage, envelope_sender: str) -> EmailMessage:
    """The message as the recipient's mailbox holds it: the final MTA adds the Return-Path."""
    raw = f"Return-Path: <{envelope_sender}>\r\n".encode() + mail.as_bytes()
    copy = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(copy, EmailMessage)
    return copy


def reply(mailto: str, *, sender: str) -> EmailMessage:
    """The mail a client composes from a `mailto:` List-Unsubscribe URL, sent by `sender`."""
    parts = urlsplit(mailto)
    query = parse_qs(parts.query)
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = unquote(parts.path)
    mail["Subject"] = query.get("subject", [""])[0]
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = make_msgid(domain="client.example.com")
    mail.set_content(query.get("body", ["Please unsubscribe me."])[0])
    return mail


async def deliver(message: Message, *, port: int, sender: str, recipient: str) -> None:
    """Over SMTP to our listener, as the reporting MTA would (a DSN has the null sender `<>`)."""
    await aiosmtplib.send(
        message, sender=sender, recipients=[recipient], hostname="127.0.0.1", port=port, timeout=10
    )
