"""Reading feedback: DSN and ARF messages built with the `email` package, VERP tokens, provider payloads."""

from __future__ import annotations

import json
import uuid
from email.message import EmailMessage

import pytest

from adapters.email.feedback.intake import our_message_id
from adapters.email.feedback.postmark import basic_auth_ok, postmark_events
from adapters.email.feedback.reports import (
    DeliveryReport,
    FeedbackReport,
    PlainMail,
    read_inbound,
    status_code,
)
from adapters.email.feedback.sendgrid import sendgrid_events
from adapters.email.feedback.sns import ses_events
from adapters.email.feedback.verp import ReturnPaths, derive_verp_key
from tests.feedback_mail import arf, as_delivered, dsn, reply

PATHS = ReturnPaths(derive_verp_key(bytes(32)), "Bounces@Shop.Example.org")


def sent(message_id: uuid.UUID) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "news@shop.example.org", "jane@example.com", "Deals"
    mail["Message-ID"] = f"<{message_id}@shop.example.org>"
    mail.set_content("10% off")
    return mail


def test_a_return_path_names_its_message_and_nothing_else() -> None:
    message_id = uuid.uuid4()
    address = PATHS.address(message_id)
    assert address.startswith("bounces+") and address.endswith("@shop.example.org")
    assert len(address.partition("@")[0]) <= 64  # an SMTP local part
    assert PATHS.message_of(address) == message_id
    assert PATHS.message_of(address.upper()) == message_id  # mail systems may change the case
    assert PATHS.message_of(f"<{address}>") == message_id
    token = address.partition("+")[2].partition("@")[0]
    for forged in (
        f"bounces+{token[:-6]}{'b' if token[-6] != 'b' else 'c'}{token[-5:]}@shop.example.org",
        f"bounces+{token}@elsewhere.example",
        f"other+{token}@shop.example.org",
        "bounces@shop.example.org",
        f"bounces+{PATHS.token(uuid.uuid4())[:-1]}@shop.example.org",
    ):
        assert PATHS.message_of(forged) is None, forged
    other_key = ReturnPaths(derive_verp_key(bytes(range(32))), "bounces@shop.example.org")
    assert other_key.message_of(address) is None


def test_a_hard_bounce_dsn_reads_as_the_standard_says() -> None:
    message_id = uuid.uuid4()
    report = read_inbound(dsn(to=PATHS.address(message_id), original=sent(message_id),
                              final_recipient="jane@example.com").as_bytes())  # fmt: skip
    assert isinstance(report, DeliveryReport)
    (recipient,) = report.recipients
    assert (recipient.action, recipient.status, recipient.bounce) == ("failed", "5.1.1", "hard")
    assert recipient.diagnostic and recipient.diagnostic.startswith("smtp; 550 5.1.1")
    assert PATHS.first_message(report.addressed) == message_id
    assert [our_message_id(m) for m in report.original.message_ids] == [message_id]


@pytest.mark.parametrize(
    ("action", "status", "bounce"),
    [("failed", "4.2.2", "soft"), ("delayed", "4.4.7", "soft"), ("delivered", "2.0.0", None),
     ("relayed", "2.0.0", None), ("failed", "5.7.1", "hard")],
)  # fmt: skip
def test_each_action_and_status_class_is_told_apart(action: str, status: str, bounce: str | None) -> None:
    message_id = uuid.uuid4()
    report = read_inbound(dsn(to="x@example.net", original=sent(message_id), final_recipient="a@b.example",
                              action=action, status=status, headers_only=True).as_bytes())  # fmt: skip
    assert isinstance(report, DeliveryReport)
    assert report.recipients[0].bounce == bounce
    assert [our_message_id(m) for m in report.original.message_ids] == [message_id]


def test_an_abuse_report_reads_with_the_original_return_path() -> None:
    message_id = uuid.uuid4()
    original = as_delivered(sent(message_id), PATHS.address(message_id))
    report = read_inbound(arf(to="fbl@shop.example.org", original=original).as_bytes())
    assert isinstance(report, FeedbackReport)
    assert report.feedback_type == "abuse" and report.user_agent == "ExampleFBL/1.0"
    assert PATHS.first_message(report.original.return_paths) == message_id


def test_plain_mail_and_garbage_read_as_plain_mail() -> None:
    mail = reply(
        "mailto:unsubscribe@shop.example.org?subject=unsubscribe%20abc", sender="Jane <Jane@Example.com>"
    )
    report = read_inbound(mail.as_bytes())
    assert report == PlainMail(sender="jane@example.com", subject="unsubscribe abc",
                               addressed=("unsubscribe@shop.example.org",))  # fmt: skip
    assert isinstance(read_inbound(bytes(range(256)) * 4), PlainMail)
    broken = b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\n"
    report = read_inbound(broken)
    assert isinstance(report, DeliveryReport) and report.recipients == ()


def test_status_codes_are_found_in_free_text() -> None:
    assert status_code("smtp;550 5.1.1 The email account does not exist.") == "5.1.1"
    assert status_code("Status: 4.4.7 (delivery time expired)") == "4.4.7"
    assert status_code("unknown recipient") is None


def test_ses_notifications_read_bounce_types_and_skip_deliveries() -> None:
    mail = {"source": "bounces+x@shop.example.org", "commonHeaders": {"messageId": "<m@shop>"}}
    bounce = {"bounceType": "Permanent", "bouncedRecipients": [{"status": "5.1.1"}]}
    permanent = {"notificationType": "Bounce", "mail": mail, "bounce": bounce}
    (event,) = ses_events(json.dumps(permanent))
    assert (event.kind, event.status, event.return_paths, event.message_ids) == (
        "hard",
        "5.1.1",
        ("bounces+x@shop.example.org",),
        ("<m@shop>",),
    )
    transient = {**permanent, "bounce": {"bounceType": "Transient", "bounceSubType": "MailboxFull"}}
    assert ses_events(json.dumps(transient))[0].kind == "soft"
    published = {"eventType": "Complaint", "mail": mail, "complaint": {"complaintFeedbackType": "abuse"}}
    assert ses_events(json.dumps(published))[0].kind is None
    not_spam = {
        "notificationType": "Complaint",
        "mail": mail,
        "complaint": {"complaintFeedbackType": "not-spam"},
    }
    assert ses_events(json.dumps(not_spam)) == []
    assert ses_events(json.dumps({"notificationType": "Delivery", "mail": mail})) == []
    assert ses_events("not json") == [] and ses_events("[1]") == []


def test_sendgrid_and_postmark_payloads_read_only_bounces_and_complaints() -> None:
    events = [{"event": "bounce", "type": "blocked", "status": "4.0.0", "smtp-id": "<a@b>"},
              {"event": "delivered", "smtp-id": "<a@b>"},
              {"event": "spamreport", "smtp-id": "<a@b>"}, 7]  # fmt: skip
    read = sendgrid_events(json.dumps(events).encode())
    assert [(e.kind, e.message_ids) for e in read] == [("soft", ("<a@b>",)), (None, ("<a@b>",))]
    assert sendgrid_events(b"{") == []
    bounced = {"RecordType": "Bounce", "Type": "SoftBounce", "Details": "452 4.2.2 over quota",
              "Metadata": {"optin-feedback": "tok"}}  # fmt: skip
    (event,) = postmark_events(json.dumps(bounced).encode())
    assert (event.kind, event.status, event.tokens) == ("soft", "4.2.2", ("tok",))
    assert postmark_events(json.dumps({**bounced, "Type": "AutoResponder"}).encode()) == []
    assert postmark_events(json.dumps({"RecordType": "SpamComplaint"}).encode())[0].kind is None
    assert basic_auth_ok("Basic dXNlcjpwYXNz", "user", "pass")
    assert not basic_auth_ok("Basic dXNlcjpwYXN", "user", "pass")
    assert not basic_auth_ok("Bearer dXNlcjpwYXNz", "user", "pass")
    assert not basic_auth_ok(None, "user", "pass")
