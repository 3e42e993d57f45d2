"""The webhook delivery worker: leases due deliveries, POSTs them signed, logs every attempt.

At least once, like the message outbox: rows are leased with `FOR UPDATE SKIP LOCKED` (any
number of workers share them), the lease is committed before the request goes out (no network
call inside a transaction), and the outcome is written after: `delivered` on a 2xx answer, else
the next attempt after a backoff with jitter, or `failed` once attempts are used up. The worker
wakes on `NOTIFY webhooks` from the projection and polls as a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import structlog

from adapters import metrics
from adapters.postgres.availability import availability_of
from adapters.resilience import forever, wait_or_timeout
from adapters.webhooks.secrets import WebhookSecrets
from adapters.webhooks.signing import signed_headers
from ledger.ports import Clock
from ledger.webhook_delivery import DeliveryPolicy, delivered

log = structlog.get_logger(__name__)

_CLAIM = (
    "UPDATE webhook_deliveries d SET leased_until = $2::timestamptz + $3::interval FROM webhook_endpoints e "
    "WHERE d.id IN ("
    "  SELECT id FROM webhook_deliveries WHERE status = 'pending' AND due_at <= $2"
    "  AND (leased_until IS NULL OR leased_until <= $2) ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " AND e.id = d.endpoint_id "
    "RETURNING d.id, d.endpoint_id, d.payload, d.attempts, e.url, e.active"
)
_RECORD = (
    "UPDATE webhook_deliveries SET attempts = $2, status = $3, due_at = coalesce($4, due_at), "
    "leased_until = NULL, last_status = $5, last_error = $6, "
    "delivered_at = CASE WHEN $3 = 'delivered' THEN $7 ELSE delivered_at END WHERE id = $1"
)


class WebhookWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        secrets: WebhookSecrets,
        http: httpx.AsyncClient,
        clock: Clock,
        policy: DeliveryPolicy | None = None,
        *,
        lease: timedelta = timedelta(seconds=60),
        poll_interval: float = 2.0,
    ) -> None:
        self.pool = pool
        self.secrets = secrets
        self.http = http
        self.clock = clock
        self.policy = policy or DeliveryPolicy()
        self.lease = lease
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()

    async def run_once(self, limit: int = 20) -> int:
        """Deliver what is due now (side by side); return how many deliveries were attempted."""
        rows = await self.pool.fetch(_CLAIM, limit, self.clock.now(), self.lease)
        await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def _deliver(self, row: Any) -> None:
        attempt = row["attempts"] + 1
        if not row["active"]:
            await self._record(row["id"], attempt, None, "the endpoint was removed", 0, final=True)
            return
        now = self.clock.now()
        headers = signed_headers(
            row["id"], now, row["payload"], await self.secrets.signing(row["endpoint_id"], now)
        )
        started = time.perf_counter()
        status, error = None, None
        try:
            response = await self.http.post(
                row["url"], content=row["payload"], headers=headers,
                timeout=self.policy.timeout.total_seconds(), follow_redirects=False,
            )  # fmt: skip
            status = response.status_code
            if not delivered(status):
                error = f"HTTP {status}"
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"[:500]
        elapsed = int((time.perf_counter() - started) * 1000)
        await self._record(row["id"], attempt, status, error, elapsed, final=False)

    async def _record(
        self, delivery_id: UUID, attempt: int, status: int | None, error: str | None, ms: int, *, final: bool
    ) -> None:
        now = self.clock.now()
        ok = error is None and delivered(status)
        retry_at = None if ok or final else self.policy.next_attempt(attempt, now)
        outcome = "delivered" if ok else ("pending" if retry_at is not None else "failed")
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms) "
                "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                delivery_id, attempt, now, status, error, ms,
            )  # fmt: skip
            await conn.execute(_RECORD, delivery_id, attempt, outcome, retry_at, status, error, now)
        metrics.webhook_delivery("delivered" if ok else ("retrying" if retry_at is not None else "failed"))
        if not ok:
            log.warning("webhook delivery failed", delivery_id=str(delivery_id), attempt=attempt, error=error)

    async def run_forever(self) -> None:
        await forever(self._follow, "webhook worker", availability=availability_of(self.pool))

    async def _follow(self) -> None:
        async with self.pool.acquire() as listener:
            await listener.add_listener("webhooks", self._notified)
            try:
                while True:
                    self._wake.clear()
                    if await self.run_once():
                        continue
                    await wait_or_timeout(self._wake, await self._idle())
            finally:
                with contextlib.suppress(Exception):  # the connection may be mid-cancellation
                    await listener.remove_listener("webhooks", self._notified)

    async def _idle(self) -> float:
        due = await self.pool.fetchval(
            "SELECT min(greatest(due_at, coalesce(leased_until, due_at))) FROM webhook_deliveries "
            "WHERE status = 'pending'"
        )
        if due is None:
            return self.poll_interval
        wait: float = (due - self.clock.now()).total_seconds()
        return min(self.poll_interval, max(wait, 0.01))

    def _notified(self, *_: object) -> None:
        self._wake.set()
