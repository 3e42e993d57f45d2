"""Follow the ledger and hand every new opt-in and opt-out to `ConsentReceipts`, which queues its
receipt for the outbox worker.

Tracked like a projection (`projection_tracking`, name `consent_receipts`): a batch's position is
written once all its receipts are recorded, so a crash resumes where the last finished batch
stopped. The receipts of a batch cut short are handed over again, and so are those two followers
both take: a receipt's message id derives from its event's position, so the second time finds it
recorded and nothing is sent twice (at least once, exactly one message). No connection is held
while receipts are recorded, beyond the one listening for new events.

It starts where the ledger stood when its migration ran (`060_consent_receipts.sql`): consent
changed before this feature existed is listed at `/v1/public/me/receipts`, never mailed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg

from adapters.resilience import forever, wait_or_timeout
from ledger.codec import LedgerMapper
from ledger.consent import Consent

NAME = "consent_receipts"
TOPICS = [Consent.Granted.TOPIC, Consent.Withdrawn.TOPIC]
_EVENTS = (
    "SELECT notification_id, originator_id, originator_version, topic, state FROM events "
    "WHERE notification_id > $1 AND notification_id <= $2 AND topic = ANY($3::text[]) "
    "ORDER BY notification_id"
)

_START = (
    "INSERT INTO projection_tracking (name, position) SELECT $1, position FROM ledger_head "
    "ON CONFLICT DO NOTHING"
)
_TRACKED = "SELECT position FROM projection_tracking WHERE name = $1"
_ADVANCE = "UPDATE projection_tracking SET position = greatest(position, $2) WHERE name = $1"

Deliver = Callable[[int, "Consent.Granted | Consent.Withdrawn"], Awaitable[object]]
"""`ConsentReceipts.deliver`: queue the receipt of the consent event at a position."""


class ConsentReceiptFollower:
    name = NAME

    def __init__(
        self,
        pool: asyncpg.Pool,
        deliver: Deliver,
        *,
        mapper: LedgerMapper | None = None,
        batch_size: int = 1000,
        concurrency: int = 8,
        poll_interval: float = 1.0,
    ) -> None:
        self.pool = pool
        self.deliver = deliver
        self.mapper = mapper or LedgerMapper()
        self.batch_size = batch_size
        self.concurrency = concurrency
        """Receipts recorded at once: their appends share a transaction (the store batches them)."""
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()

    async def run_forever(self) -> None:
        """Catch up, then follow the ledger until cancelled; failures are logged and retried."""
        await forever(self._follow, "consent receipt follower")

    async def _follow(self) -> None:
        async with self.pool.acquire() as listener:
            await listener.add_listener("ledger_events", self._notified)
            try:
                while True:
                    self._wake.clear()
                    await self.catch_up()
                    await wait_or_timeout(self._wake, self.poll_interval)
            finally:
                with contextlib.suppress(Exception):  # the connection may be mid-cancellation
                    await listener.remove_listener("ledger_events", self._notified)

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def catch_up(self) -> int:
        """Deliver batches until the follower reaches the ledger head; return events handed over."""
        handed = 0
        while True:
            found = await self._next_batch()
            if found is None:
                return handed
            rows, upto = found
            for start in range(0, len(rows), self.concurrency):  # no connection is held meanwhile
                await self._deliver_all(rows[start : start + self.concurrency])
            await self.pool.execute(_ADVANCE, NAME, upto)
            handed += len(rows)

    async def _deliver_all(self, rows: list[asyncpg.Record]) -> None:
        try:
            async with asyncio.TaskGroup() as group:  # one fails: the others stop, none run on
                for row in rows:
                    group.create_task(self._deliver(row))
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None  # the cause, as the log and the retry name it

    async def _deliver(self, row: asyncpg.Record) -> None:
        change = self.mapper.decode(row[3], row[1], row[2], row[4])
        assert isinstance(change, Consent.Granted | Consent.Withdrawn)  # the topics asked for
        await self.deliver(int(row[0]), change)

    async def _next_batch(self) -> tuple[list[asyncpg.Record], int] | None:
        """The consent events after the tracked position (up to a batch), and where they end."""
        async with self.pool.acquire() as conn:
            # A lost tracking row starts at the head: receipts are for changes from now on,
            # never a flood of old ones.
            await conn.execute(_START, NAME)
            position = int(await conn.fetchval(_TRACKED, NAME))
            head = int(await conn.fetchval("SELECT position FROM ledger_head"))
            upto = min(position + self.batch_size, head)
            if upto <= position:
                return None
            return await conn.fetch(_EVENTS, position, upto, TOPICS), upto
