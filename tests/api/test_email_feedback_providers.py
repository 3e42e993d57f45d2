"""Provider webhooks with payloads shaped like each provider's documented examples: Amazon SES through
SNS (signed with a throwaway key whose certificate a real local HTTPS server serves), SendGrid's
signed Event Webhook (ECDSA P-256), Postmark (basic auth). Unsigned, badly signed or unauthenticated
payloads change nothing."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trustme
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from adapters.email.feedback.settings import FeedbackSettings
from adapters.email.feedback.sns import SnsVerifier
from adapters.settings import Settings
from tests.api.channels import Client, program, send
from tests.api.conftest import AuthHeaders
from tests.api.test_email_channel import PUBLIC, consent_status
from tests.api.test_email_feedback import BOUNCES, listed, marketing_mail, timeline
from tests.fakes.smtp import PASSWORD, USERNAME, Mailbox, smtp_server
from tests.fakes.sns import TOPIC, FakeSns, fake_sns

pytestmark = pytest.mark.integration
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
POSTMARK = ("postmark-hook", "a-long-webhook-password-1")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def sns(ca: trustme.CA) -> Iterator[FakeSns]:
    yield from fake_sns(ca)


@pytest.fixture
def mailbox_and_port() -> Iterator[tuple[Mailbox, int]]:
    yield from smtp_server()


@pytest.fixture
def mailbox(mailbox_and_port: tuple[Mailbox, int]) -> Mailbox:
    return mailbox_and_port[0]


@pytest.fixture
def settings(
    settings: Settings, mailbox_and_port: tuple[Mailbox, int], sns: FakeSns, ca: trustme.CA, tmp_path: Path
) -> Settings:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    public = SENDGRID_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return msgspec.structs.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=mailbox_and_port[1],
        smtp_tls="none",
        smtp_username=USERNAME,
        smtp_password=PASSWORD,
        email_from="Shop <news@shop.example.org>",
        public_url=PUBLIC,
        email_feedback=FeedbackSettings(
            bounce_address=BOUNCES,
            ses_topic_arns=frozenset({TOPIC}),
            ses_cert_hosts=frozenset({sns.host}),
            ses_ca_file=str(bundle),
            sendgrid_public_key=base64.b64encode(public).decode(),
            postmark_username=POSTMARK[0],
            postmark_password=POSTMARK[1],
        ),
    )


def ses_mail(envelope: str, address: str, message_id: str) -> dict[str, Any]:
    """The `mail` object of an SES notification (AWS's documented example, our send's values)."""
    return {
        "timestamp": "2016-01-27T14:59:38.237Z",
        "source": envelope,
        "sourceArn": "arn:aws:ses:us-east-1:888888888888:identity/shop.example.org",
        "sourceIp": "127.0.3.0",
        "sendingAccountId": "123456789012",
        "messageId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
        "destination": [address],
        "headersTruncated": False,
        "headers": [{"name": "Message-ID", "value": message_id}, {"name": "Subject", "value": "Deals"}],
        "commonHeaders": {"from": ["Shop <news@shop.example.org>"], "to": [address], "messageId": message_id},
    }


def ses_bounce(envelope: str, address: str, message_id: str) -> str:
    return json.dumps(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "reportingMTA": "dns; email.example.com",
                "bouncedRecipients": [
                    {
                        "emailAddress": address,
                        "status": "5.1.1",
                        "action": "failed",
                        "diagnosticCode": f"smtp; 550 5.1.1 <{address}>... User",
                    }
                ],
                "bounceSubType": "General",
                "timestamp": "2016-01-27T14:59:38.237Z",
                "feedbackId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000",
                "remoteMtaIp": "127.0.2.0",
            },
            "mail": ses_mail(envelope, address, message_id),
        }
    )


def ses_complaint(envelope: str, address: str, message_id: str) -> str:
    return json.dumps(
        {
            "notificationType": "Complaint",
            "complaint": {
                "userAgent": "AnyCompany Feedback Loop (V0.01)",
                "complainedRecipients": [{"emailAddress": address}],
                "complaintFeedbackType": "abuse",
                "arrivalDate": "2016-01-27T14:59:38.237Z",
                "timestamp": "2016-01-27T14:59:38.237Z",
                "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000",
            },
            "mail": ses_mail(envelope, address, message_id),
        }
    )


async def post_sns(client: Client, doc: dict[str, str]) -> Any:
    return await client.post(
        "/v1/webhooks/email/ses",
        content=json.dumps(doc).encode(),
        headers={"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": doc["Type"]},
    )


async def test_ses_subscription_is_confirmed_on_the_sns_host(client: Client, sns: FakeSns) -> None:
    answer = await post_sns(client, sns.sign(sns.subscription(), version="2"))
    assert answer.status_code == 200, answer.text
    assert sns.visited and sns.visited[0].startswith("/?Action=ConfirmSubscription&Token=")


@pytest.mark.parametrize("version", ["1", "2"])
async def test_an_ses_bounce_suppresses_and_an_ses_complaint_opts_out(
    version: str, client: Client, mailbox: Mailbox, sns: FakeSns, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    optin, person, address, (mail, envelope) = await marketing_mail(client, mailbox, staff)
    await listed(client, staff, {optin})
    message_id = str(mail["Message-ID"])
    reported = sns.sign(sns.notification(ses_complaint(envelope, address, message_id)), version)
    complaint = await post_sns(client, reported)
    assert complaint.status_code == 200 and complaint.json() == {"received": 1, "changed": 1}
    bounce = await post_sns(
        client, sns.sign(sns.notification(ses_bounce(envelope, address, message_id)), version)
    )
    assert bounce.status_code == 200 and bounce.json() == {"received": 1, "changed": 1}
    events = await timeline(client, staff, person, bounce.headers["ledger-position"])
    topics = [(e["topic"], e["details"].get("evidence", {}).get("source")) for e in events]
    assert ("consent.withdrawn", "complaint") in topics and ("channel.opted_out", "bounce") in topics
    assert [e["details"]["via"] for e in events if e["topic"].startswith("mailbox.")] == ["ses", "ses"]
    again = await post_sns(client, sns.sign(sns.notification(ses_bounce(envelope, address, message_id))))
    assert again.json() == {"received": 1, "changed": 0}  # SNS retries: recorded once


async def test_unsigned_or_badly_signed_sns_messages_change_nothing(
    client: Client, mailbox: Mailbox, sns: FakeSns, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    optin, person, address, (mail, envelope) = await marketing_mail(client, mailbox, staff)
    message = sns.notification(ses_bounce(envelope, address, str(mail["Message-ID"])))
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attempts = {
        "unsigned": message,
        "signed by another key": sns.sign(message, key=other_key),
        "altered after signing": {
            **sns.sign(message),
            "Message": message["Message"].replace("5.1.1", "5.1.2"),
        },
        "another topic": sns.sign(sns.notification(message["Message"], topic=TOPIC + "-other")),
        "certificate elsewhere": {**sns.sign(message), "SigningCertURL": "https://example.com/cert.pem"},
    }
    for name, doc in attempts.items():
        answer = await post_sns(client, doc)
        assert answer.status_code == 403, (name, answer.text)
    still = await send(client, staff, contact_id=person, optin_id=optin, kind="promotional",
                       variables={"subject": "Still", "message": "here"})  # fmt: skip
    position = still.headers["ledger-position"]
    assert await consent_status(client, staff, optin, person, position) == "opted_in"


def test_sns_certificates_come_only_from_sns_hosts_over_https() -> None:
    verifier = SnsVerifier(None, frozenset({TOPIC}))  # type: ignore[arg-type]
    assert verifier.trusted_url("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem")
    assert verifier.trusted_url("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem")
    for url in (
        "http://sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
        "https://user:pw@sns.us-east-1.amazonaws.com/x.pem",
        "https://127.0.0.1:8443/x.pem",
        "https://s3.amazonaws.com/x.pem",
    ):
        assert not verifier.trusted_url(url), url


def sendgrid_post(body: bytes, key: ec.EllipticCurvePrivateKey = SENDGRID_KEY) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


def sendgrid_events(address: str, smtp_id: str) -> list[dict[str, Any]]:
    """SendGrid's documented example events, for our message."""
    common = {"email": address, "timestamp": 1513299569, "smtp-id": smtp_id, "category": "cat facts",
              "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"}  # fmt: skip
    return [
        {**common, "event": "processed", "sg_event_id": "rbtnWrG1DVDGGGFHFyun0A=="},
        {
            **common,
            "event": "deferred",
            "response": "400 try again later",
            "attempt": "5",
            "sg_event_id": "sZROwMGMagFgnOEmSdvhig==",
        },
        {**common, "event": "spamreport", "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw=="},
        {
            **common,
            "event": "bounce",
            "reason": "500 unknown recipient",
            "status": "5.0.0",
            "type": "bounce",
            "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw==",
        },
    ]


async def test_sendgrid_signed_events_act_and_unsigned_ones_change_nothing(
    client: Client, mailbox: Mailbox, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    optin, person, address, (mail, _) = await marketing_mail(client, mailbox, staff)
    await listed(client, staff, {optin})
    body = json.dumps(sendgrid_events(address, str(mail["Message-ID"]))).encode()
    forged = [
        {"Content-Type": "application/json"},
        sendgrid_post(body, ec.generate_private_key(ec.SECP256R1())),
        {**sendgrid_post(body), "X-Twilio-Email-Event-Webhook-Timestamp": "1"},
    ]
    for headers in forged:
        answer = await client.post("/v1/webhooks/email/sendgrid", content=body, headers=headers)
        assert answer.status_code == 403, answer.text
    genuine = await client.post("/v1/webhooks/email/sendgrid", content=body, headers=sendgrid_post(body))
    assert genuine.status_code == 200 and genuine.json() == {"received": 2, "changed": 2}, genuine.text
    events = await timeline(client, staff, person, genuine.headers["ledger-position"])
    sources = {e["details"].get("evidence", {}).get("source") for e in events}
    assert {"complaint", "bounce"} <= sources
    orders = await program(client, staff, ["email"], purpose="transactional", name="Orders")
    receipt = await send(client, staff, contact_id=person, optin_id=orders, kind="transactional",
                         variables={"subject": "Receipt", "message": "Thanks"})  # fmt: skip
    assert receipt.status_code == 409 and receipt.json()["reason"] == "channel_opted_out"


def postmark_bounce(address: str, token: str) -> dict[str, Any]:
    """Postmark's documented bounce webhook, with our metadata."""
    return {
        "RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce",
        "Tag": "Test", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "ServerID": 23, "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": address, "From": "news@shop.example.org", "BouncedAt": "2019-11-05T16:33:54.9070259Z",
        "DumpAvailable": True, "Inactive": True, "CanActivate": True, "Subject": "Deals",
        "Metadata": {"optin-feedback": token},
    }  # fmt: skip


async def test_postmark_needs_its_credentials(
    client: Client, mailbox: Mailbox, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    optin, person, address, (mail, _) = await marketing_mail(client, mailbox, staff)
    body = postmark_bounce(address, str(mail["X-PM-Metadata-optin-feedback"]))
    for credentials in (None, ("postmark-hook", "wrong-password")):
        auth = base64.b64encode(":".join(credentials).encode()).decode() if credentials else None
        headers = {"Authorization": f"Basic {auth}"} if auth else {}
        refused = await client.post("/v1/webhooks/email/postmark", json=body, headers=headers)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
    right = base64.b64encode(":".join(POSTMARK).encode()).decode()
    answer = await client.post(
        "/v1/webhooks/email/postmark", json=body, headers={"Authorization": f"Basic {right}"}
    )
    assert answer.status_code == 200 and answer.json() == {"received": 1, "changed": 1}, answer.text
    events = await timeline(client, staff, person, answer.headers["ledger-position"])
    (suppressed,) = [e for e in events if e["topic"] == "channel.opted_out"]
    assert suppressed["details"]["evidence"] == {
        "actor": {"kind": "system", "id": "email-feedback/postmark"},
        "source": "bounce",
        "message_id": str(mail["Message-ID"]).strip("<>").partition("@")[0],
        "status_code": "5.1.1",
    }
    assert (
        await consent_status(client, staff, optin, person, answer.headers["ledger-position"]) == "opted_out"
    )
