"""A stand-in for Amazon SNS in tests: a throwaway signing key and certificate, served over HTTPS
from a real local server (certificate by a throwaway CA), and messages signed as SNS signs them
(SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA, over the documented string to sign)."""

from __future__ import annotations

import base64
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-feedback"
CERT_PATH = "/SimpleNotificationService-0000000000000000000000.pem"


def signing_identity() -> tuple[rsa.RSAPrivateKey, bytes]:
    """A fresh RSA key and a self-signed certificate (PEM) for it, valid now."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class FakeSns:
    port: int
    key: rsa.RSAPrivateKey
    visited: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def sign(
        self, doc: dict[str, str], version: str = "2", key: rsa.RSAPrivateKey | None = None
    ) -> dict[str, str]:
        """`doc` with SignatureVersion, SigningCertURL and Signature added, as SNS would post it."""
        names: tuple[str, ...] = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
        if doc["Type"] != "Notification":
            names = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
        signed = "".join(f"{n}\n{doc[n]}\n" for n in names if n in doc).encode()
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 (SNS's v1 is SHA1)
        signature = (key or self.key).sign(signed, padding.PKCS1v15(), algorithm)
        return {
            **doc,
            "SignatureVersion": version,
            "SigningCertURL": f"https://{self.host}{CERT_PATH}",
            "Signature": base64.b64encode(signature).decode(),
        }

    def notification(self, message: str, topic: str = TOPIC) -> dict[str, str]:
        return {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic,
            "Message": message,
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z",
            "UnsubscribeURL": f"https://{self.host}/?Action=Unsubscribe",
        }

    def subscription(self, topic: str = TOPIC) -> dict[str, str]:
        token = uuid.uuid4().hex
        return {
            "Type": "SubscriptionConfirmation",
            "MessageId": str(uuid.uuid4()),
            "Token": token,
            "TopicArn": topic,
            "Message": f"You have chosen to subscribe to the topic {topic}.",
            "SubscribeURL": f"https://{self.host}/?Action=ConfirmSubscription&Token={token}",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z",
        }


def fake_sns(ca: trustme.CA) -> Iterator[FakeSns]:
    """Serve the certificate (and record visits to other paths) on a local HTTPS port."""
    key, pem = signing_identity()
    visited: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pem if self.path == CERT_PATH else b"<ConfirmSubscriptionResponse/>"
            if self.path != CERT_PATH:
                visited.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeSns(int(server.server_address[1]), key, visited)
    finally:
        server.shutdown()
        server.server_close()
