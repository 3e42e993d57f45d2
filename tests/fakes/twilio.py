"""A real HTTP server speaking Twilio's Messages API: records every request, answers like the
provider (201 with a message sid), honours `Idempotency-Key`, refuses recipients who unsubscribed
with it (400, error 21610), and fails on demand."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

SID = "AC" + "0" * 31 + "1"
TOKEN = "twilio-test-token"
NUMBER = "+15005550006"


@dataclass
class Provider:
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, dict[str, str]] = field(default_factory=dict)
    """Messages the provider took, by idempotency key (a retry with the key is not a new one)."""
    fail_next: int = 0
    """Answer 500 to this many requests, taking nothing."""
    lose_answer_next: int = 0
    """Take the message, but answer 500 (as if the answer were lost): the sender must retry."""
    answer_delay: float = 0.0
    """Seconds to hold each answer after taking the message (receipts can beat the answer)."""
    unsubscribed: set[str] = field(default_factory=set)
    """Numbers that replied STOP to the provider itself: it refuses them with error 21610."""
    refuse_next: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    """Answers (status, body) to give instead of taking the message, one per request."""
    account_status: str = "active"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, number: str) -> list[dict[str, str]]:
        with self.lock:
            return [m for m in self.accepted.values() if m["To"] == number]

    def requests_for(self, message_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["headers"].get("idempotency-key") == message_id]

    def account(self, path: str) -> tuple[int, dict[str, Any]]:
        """The account resource (GET), as `optin-ledger check` reads it."""
        if path != f"/2010-04-01/Accounts/{SID}.json":
            return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
        return 200, {"sid": SID, "friendly_name": "Test account", "status": self.account_status}

    def answer(self, path: str, headers: dict[str, str], form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append({"path": path, "headers": headers, "form": form})
            if path != f"/2010-04-01/Accounts/{SID}/Messages.json":
                return 404, {"code": 20404, "message": "not found", "status": 404}
            if self.refuse_next:
                return self.refuse_next.pop(0)
            if self.fail_next:
                self.fail_next -= 1
                return 500, {"code": 20500, "message": "internal error", "status": 500}
            if form.get("To") in self.unsubscribed:
                return 400, {
                    "code": 21610,
                    "message": "Attempt to send to unsubscribed recipient",
                    "status": 400,
                }
            key = headers.get("idempotency-key") or uuid.uuid4().hex
            message = self.accepted.setdefault(key, {**form, "sid": "SM" + uuid.uuid4().hex})
            if self.lose_answer_next:
                self.lose_answer_next -= 1
                return 500, {"code": 20500, "message": "internal error", "status": 500}
            return 201, {"sid": message["sid"], "status": "queued", "to": message["To"]}


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("authorization") != expected:
                self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
            else:
                self._reply(*provider.account(self.path))

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if headers.get("authorization") != expected:
                status, body = 401, {"code": 20003, "message": "Authenticate", "status": 401}
            else:
                status, body = provider.answer(self.path, headers, form)
                time.sleep(provider.answer_delay)
            self._reply(status, body)

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # numbers stay out of any output
            pass

    return Handler


def twilio_server() -> Iterator[tuple[Provider, str]]:
    provider = Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
