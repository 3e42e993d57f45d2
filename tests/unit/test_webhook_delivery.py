"""Webhook delivery rules and signatures: backoff with jitter and a last attempt; the headers the
Standard Webhooks reference library verifies, with one signature per secret in force."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from adapters.webhooks.signing import signed_headers
from ledger.errors import InvalidValueError
from ledger.webhook_delivery import DeliveryPolicy, delivered
from ledger.webhook_endpoint import checked_types, checked_url, new_secret
from ledger.webhook_payloads import payload

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_retries_back_off_with_jitter_up_to_a_cap_then_stop() -> None:
    policy = DeliveryPolicy(max_attempts=5, base=timedelta(seconds=5), cap=timedelta(seconds=30))
    rng = random.Random(7)
    delays = [(policy.next_attempt(n, NOW, rng) or NOW) - NOW for n in range(1, 5)]
    for n, delay in enumerate(delays, start=1):
        nominal = min(timedelta(seconds=5) * 2 ** (n - 1), timedelta(seconds=30))
        assert nominal * 0.75 <= delay <= nominal * 1.25
    assert policy.next_attempt(5, NOW, rng) is None


@pytest.mark.parametrize(
    ("code", "ok"), [(200, True), (204, True), (299, True), (301, False), (410, False), (None, False)]
)
def test_only_2xx_acknowledges(code: int | None, ok: bool) -> None:
    assert delivered(code) is ok


def test_headers_verify_with_the_reference_library_for_each_secret_in_force() -> None:
    (old, old_raw), (new, new_raw) = new_secret(), new_secret()
    body = payload("consent.changed", NOW, {"contact_id": uuid.uuid4(), "address": "j***@e***.com"})
    now = datetime.now(UTC)
    headers = signed_headers(uuid.uuid4(), now, body, [new_raw, old_raw])
    assert headers["webhook-signature"].count("v1,") == 2
    assert Webhook(new).verify(body, headers)["type"] == "consent.changed"
    assert Webhook(old).verify(body, headers)["data"]["address"] == "j***@e***.com"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()[0]).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body + b" ", headers)


@pytest.mark.parametrize("url", ["ftp://x.org/h", "https://", "https://u:p@x.org/h", "x" * 2001, "/relative"])
def test_bad_endpoint_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidValueError):
        checked_url(url)


def test_event_types_are_checked_and_ordered() -> None:
    assert checked_types(("message.status", "consent.changed")) == ("consent.changed", "message.status")
    with pytest.raises(InvalidValueError):
        checked_types(("consent.granted",))
