"""Follow the ledger and hand every new opt-in and opt-out to `ConsentReceipts`, which queues its
receipt for the outbox worker.

Tracked like a projection (`projection_tracking`, name `consent_receipts`): each batch runs under
an advisory lock and its position is written when the batch is done, so two followers never
interleave and a crash resumes where the last finished batch stopped. The receipts of a batch cut
short by a crash are recorded again: their message ids derive from the events' positions, so the
second time finds them recorded and sends nothing twice (at least once, exactly one message).

It starts where the ledger stood when its migration ran (`060_consent_receipts.sql`): consent
changed before this feature existed is listed at `/v1/public/me/receipts`, never mailed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg

from adapters.postgres.pool import Connection
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
        poll_interval: float = 1.0,
    ) -> None:
        self.pool = pool
        self.deliver = deliver
        self.mapper = mapper or LedgerMapper()
        self.batch_size = batch_size
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
            async with self.pool.acquire() as conn, conn.transaction():
                reached, count = await self._advance(conn)
            handed += count
            if not reached:
                return handed

    async def _advance(self, conn: Connection) -> tuple[bool, int]:
        """Deliver the next batch; (whether there was one, consent events in it)."""
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('projection:' || $1))", NAME)
        # A lost tracking row starts at the head: receipts are for changes from now on, never a
        # flood of old ones.
        await conn.execute(
            "INSERT INTO projection_tracking (name, position) SELECT $1, position FROM ledger_head "
            "ON CONFLICT DO NOTHING",
            NAME,
        )
        position = int(await conn.fetchval("SELECT position FROM projection_tracking WHERE name = $1", NAME))
        head = int(await conn.fetchval("SELECT position FROM ledger_head"))
        upto = min(position + self.batch_size, head)
        if upto <= position:
            return False, 0
        rows = await conn.fetch(_EVENTS, position, upto, TOPICS)
        for row in rows:  # appended on other connections, in ledger order
            change = self.mapper.decode(row[3], row[1], row[2], row[4])
            assert isinstance(change, Consent.Granted | Consent.Withdrawn)  # the topics asked for
            await self.deliver(int(row[0]), change)
        await conn.execute("UPDATE projection_tracking SET position = $2 WHERE name = $1", NAME, upto)
        return True, len(rows)
