"""The service's Prometheus metrics: every metric object, and the endpoint that serves them.

The endpoint is its own small HTTP server on a separate port (`OPTIN_METRICS_HOST`,
`OPTIN_METRICS_PORT`), so it needs no login and never shares a port with the public API.
Instrumented code calls the one-line helpers below; gauges that need the database (lag, outbox
depth, head) are refreshed by `projections.health.sample_forever`.
"""

from __future__ import annotations

from typing import Literal

import structlog
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from adapters.light_histogram import LightHistogram
from ledger.ports import Outgoing, Sender, SendError

log = structlog.get_logger(__name__)

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

# Observed on the append path for every call: see adapters/light_histogram.py.
APPEND_SECONDS = LightHistogram(
    "optin_append_seconds", "One append call, from the call to its ledger position", _FAST
)
APPEND_BATCH_EVENTS = LightHistogram(
    "optin_append_batch_events",
    "Events per batch written in one database round trip",
    (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096),
)
APPEND_BATCHES_RECHAINED = Counter(
    "optin_append_batches_rechained_total",
    "Batches chained again in the database: another process had appended since this one predicted the head",
)
APPEND_BATCHES_RESENT = Counter(
    "optin_append_batches_resent_total",
    "Batches sent again: they reached the database before the batch they were chained onto",
)
LEDGER_HEAD = Gauge("optin_ledger_head_position", "The ledger's last position")
PROJECTION_LAG_EVENTS = Gauge(
    "optin_projection_lag_events", "Events in the ledger a projection has not applied", ["projection"]
)
PROJECTION_LAG_SECONDS = Gauge(
    "optin_projection_lag_seconds",
    "Age of the oldest event a projection has not applied (0 when caught up)",
    ["projection"],
)
OUTBOX_DEPTH = Gauge("optin_outbox_depth", "Codes and messages not yet sent, by channel", ["channel"])
OUTBOX_OLDEST_DUE = Gauge(
    "optin_outbox_oldest_due_seconds", "How long the longest-waiting due message has been due"
)
SENDS = Counter(
    "optin_sends_total", "Hand-overs to a provider, by channel and outcome", ["channel", "outcome"]
)
CONSENT_CHECK_SECONDS = Histogram(
    "optin_consent_check_seconds",
    "Consent reads over HTTP (single: GET /v1/consent, bulk: POST /v1/consent/check)",
    ["kind"],
    buckets=_FAST,
)
CODE_REQUESTS = Counter(
    "optin_code_requests_total",
    "Verification code requests, by who asked and the outcome (allowed, or the refusal reason)",
    ["kind", "outcome"],
)
WEBHOOK_VERIFICATIONS = Counter(
    "optin_webhook_verifications_total", "SMS webhook signature checks, by result", ["result"]
)
SMS_RECEIPTS_UNKNOWN = Counter(
    "optin_sms_receipts_unknown_total",
    "Signed delivery receipts for no message of ours (no or an unknown message id, another MessageSid)",
    ["reason"],
)
DATABASE_OUTAGES = Counter(
    "optin_database_outages_total", "Times this process lost its database (an outage confirmed by a probe)"
)
DATABASE_REFUSED = Counter(
    "optin_database_refused_requests_total",
    "Requests answered 503 for want of the database: unreachable, or busy (no connection free in time)",
    ["reason"],
)

# Compliance (issue 18): refreshed from the read models by `projections.compliance_metrics`.
OPTOUTS = Gauge("optin_optouts", "Opt-outs recorded (program and channel-wide)")
OPTOUTS_HONOURED = Gauge("optin_optouts_honoured", "Opt-outs no message followed after their due time")
SENT_AFTER_OPTOUT = Gauge(
    "optin_messages_sent_after_optout",
    "Messages sent after an opt-out's due time: must be 0 (alert on > 0)",
)
REVIEWS_OPEN = Gauge("optin_revocation_reviews_open", "Doubtful SMS replies waiting for staff")
REVIEWS_OVERDUE = Gauge(
    "optin_revocation_reviews_overdue", "Doubtful SMS replies past their deadline (alert on > 0)"
)
REVOCATION_REPLIES = Counter(
    "optin_revocation_replies_total",
    "SMS replies that are not keywords screened for revocation, by verdict (revoke, review, none);"
    " a provider's retried webhook is screened again",
    ["verdict"],
)
WEBHOOK_DELIVERIES = Counter(
    "optin_webhook_deliveries_total",
    "Signed webhook delivery attempts, by outcome (delivered, retrying, failed)",
    ["outcome"],
)
READ_REQUESTS = Counter(
    "optin_read_requests_total",
    "Requests whose read-model queries were sent to the replica or to the primary (by `read_db`;"
    " a query the replica then fails is counted in optin_read_fallbacks_total)",
    ["database"],
)
READ_FALLBACKS = Counter(
    "optin_read_fallbacks_total",
    "Reads meant for the replica that the primary answered: unreachable, lagging, conflict"
    " (a query cancelled by replay) or min_position (not replayed within the wait)",
    ["reason"],
)
READ_REPLICA_SERVING = Gauge(
    "optin_read_replica_serving", "1 while the read replica takes reads, 0 while the primary does"
)
READ_REPLICA_LAG_SECONDS = Gauge(
    "optin_read_replica_lag_seconds", "How far the replica's read models are behind the primary's"
)

_CONSENT_PATHS = {("GET", "/v1/consent"): "single", ("POST", "/v1/consent/check"): "bulk"}


def serve_metrics(host: str, port: int | None) -> tuple[str, int] | None:
    """Serve `/metrics` on (host, port) in a background thread; return the bound address.

    `port` 0 takes an ephemeral port, None serves nothing. A port already taken is logged and
    skipped: the service itself keeps running (the scrape target shows as down).
    """
    if port is None:
        return None
    try:
        server, _thread = start_http_server(port, addr=host)
    except OSError as e:
        log.error("metrics endpoint not started", host=host, port=port, error=str(e))
        return None
    bound = (host, int(server.server_port))
    log.info("metrics", url=f"http://{host}:{bound[1]}/metrics")
    return bound


def request_finished(method: str, path: str, seconds: float) -> None:
    """Called for every HTTP request; times the consent reads."""
    kind = _CONSENT_PATHS.get((method, path))
    if kind is not None:
        CONSENT_CHECK_SECONDS.labels(kind).observe(seconds)


def code_requested(kind: Literal["public", "staff"], refusal: str | None) -> None:
    CODE_REQUESTS.labels(kind, refusal or "allowed").inc()


def revocation_screened(verdict: str) -> None:
    REVOCATION_REPLIES.labels(verdict).inc()


def webhook_delivery(outcome: Literal["delivered", "retrying", "failed"]) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def webhook_verified(result: Literal["valid", "invalid", "missing"]) -> None:
    WEBHOOK_VERIFICATIONS.labels(result).inc()


def receipt_unknown(reason: Literal["no_message_id", "unknown_message", "unknown_message_sid"]) -> None:
    SMS_RECEIPTS_UNKNOWN.labels(reason).inc()


class MeteredSender:
    """A `Sender` that counts each hand-over: sent, failed (retried), rejected (permanent), error."""

    def __init__(self, sender: Sender, channel: str) -> None:
        self._sender = sender
        self._channel = channel
        self.name = sender.name

    async def send(self, outgoing: Outgoing) -> str:
        try:
            provider_id = await self._sender.send(outgoing)
        except SendError as e:
            SENDS.labels(self._channel, "rejected" if e.permanent else "failed").inc()
            raise
        except Exception:
            SENDS.labels(self._channel, "error").inc()
            raise
        SENDS.labels(self._channel, "sent").inc()
        return provider_id
