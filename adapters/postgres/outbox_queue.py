"""The outbox queue on PostgreSQL, and the worker loop that drains it.

Jobs are leased with `FOR UPDATE SKIP LOCKED`, so any number of workers share the queue without
taking one job twice at a time; the lease is committed before anything is sent (no network call
inside a transaction). The loop wakes on `NOTIFY outbox` from the projection, when a retry is
due, and on a slow poll as a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
import structlog

from adapters.resilience import forever, wait_or_timeout
from ledger.application.dispatch import Dispatcher
from ledger.ports import Clock, Job

log = structlog.get_logger(__name__)

_CLAIM = (
    "UPDATE outbox SET leased_until = $2::timestamptz + $3::interval WHERE id IN ("
    "  SELECT id FROM outbox WHERE due_at <= $2 AND (leased_until IS NULL OR leased_until <= $2)"
    "  ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
    "RETURNING id, contact_id, verification_id"
)


class PostgresOutboxQueue:
    """`ledger.application.dispatch.OutboxQueue` on the `outbox` table."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock, lease: timedelta = timedelta(seconds=60)) -> None:
        self._pool = pool
        self._clock = clock
        self._lease = lease

    async def claim(self, limit: int) -> list[Job]:
        rows = await self._pool.fetch(_CLAIM, limit, self._clock.now(), self._lease)
        return [
            Job(message_id=r["id"], contact_id=r["contact_id"], verification_id=r["verification_id"])
            for r in rows
        ]

    async def hold(self, message_id: UUID, until: datetime) -> None:
        await self._pool.execute("UPDATE outbox SET leased_until = $2 WHERE id = $1", message_id, until)

    async def next_due(self) -> datetime | None:
        found: datetime | None = await self._pool.fetchval(
            "SELECT min(greatest(due_at, coalesce(leased_until, due_at))) FROM outbox"
        )
        return found


class OutboxWorker:
    """Runs a `Dispatcher` until cancelled; failures are logged and retried, never fatal."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        dispatcher: Dispatcher,
        queue: PostgresOutboxQueue,
        poll_interval: float = 2.0,
    ) -> None:
        self.pool = pool
        self.dispatcher = dispatcher
        self.queue = queue
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()

    async def run_forever(self) -> None:
        await forever(self._follow, "outbox worker")

    async def _follow(self) -> None:
        async with self.pool.acquire() as listener:
            await listener.add_listener("outbox", self._notified)
            try:
                while True:
                    self._wake.clear()
                    count, errors = await self.dispatcher.run_once()
                    for message_id, error in errors:
                        log.error("sending failed unexpectedly", message_id=str(message_id), exc_info=error)
                    if count:
                        continue
                    idle = await self._idle()
                    await wait_or_timeout(self._wake, idle)
            finally:
                with contextlib.suppress(Exception):  # the connection may be mid-cancellation
                    await listener.remove_listener("outbox", self._notified)

    async def _idle(self) -> float:
        """Seconds until the next job is due (a retry, or a lease running out), at most the poll."""
        due = await self.queue.next_due()
        if due is None:
            return self.poll_interval
        wait = (due - self.dispatcher.clock.now()).total_seconds()
        return min(self.poll_interval, max(wait, 0.01))

    def _notified(self, *_: object) -> None:
        self._wake.set()
