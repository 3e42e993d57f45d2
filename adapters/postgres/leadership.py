"""Leader election on a PostgreSQL session advisory lock: one replica works, the others stand by.

The lock lives on a connection of its own (never a pooled one: a pool resets its connections with
`pg_advisory_unlock_all()` and may close them at will). Whoever holds it runs the work; the others
keep a connection open and try again every `poll_interval`, so a standby takes over within about
that much time once the leader's session ends — whether the process exits, crashes, or only loses
its connection (PostgreSQL drops a session's advisory locks with the session).

A leader that loses its lock connection stops its work at once, since another replica may already
hold the lock. Leadership is about not doing the same work twice, not about correctness: the
projection runner already applies each batch under a per-projection transaction lock, so even the
short overlap of a half-open connection (until the next health check times out) loses or doubles
nothing.

With an `Availability`, losing the database itself (an outage, not this replica's connection) is
left to it to log, and the replica contends again as soon as the database is back, without the
backoff or the courtesy delay for a healthy standby: every replica lost it alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from adapters.postgres.availability import Availability
from adapters.resilience import wait_or_timeout

log = structlog.get_logger(__name__)

PROJECTOR_LOCK = 0x4F50_544C_5052_4F4A
"""The projector's lock key. Outside the int4 range, so it never meets a `hashtext()` lock key."""

_LOST = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
"""What a lost or unusable connection raises."""


class LeadershipLostError(ConnectionError):
    """The connection holding the lock is gone or unresponsive: someone else may lead now."""


class AdvisoryLockLeadership:
    """Runs `work` only while this process holds the session advisory lock `key` on `dsn`."""

    def __init__(
        self,
        dsn: str,
        key: int = PROJECTOR_LOCK,
        *,
        name: str = "optin-ledger leader",
        poll_interval: float = 1.0,
        check_interval: float = 5.0,
        check_timeout: float = 5.0,
        rejoin_delay: float | None = None,
        availability: Availability | None = None,
    ) -> None:
        self.dsn = dsn
        self.key = key
        self.name = name
        self.poll_interval = poll_interval
        self.check_interval = check_interval
        self.check_timeout = check_timeout
        self.rejoin_delay = 3 * poll_interval if rejoin_delay is None else rejoin_delay
        """How long a replica whose lock connection failed waits before contending again."""
        self.availability = availability
        self.is_leader = False
        self.backend_pid: int | None = None
        """The server process of the lock connection (what `pg_terminate_backend` would end)."""

    async def run(self, work: Callable[[], Awaitable[None]]) -> None:
        """Forever: connect, wait for the lock, run `work` while it is held; start over when lost.

        Returns when `work` returns (releasing the lock); an error from `work` itself propagates.
        """
        backoff = self.poll_interval
        while True:
            try:
                conn = await asyncpg.connect(self.dsn, server_settings={"application_name": self.name})
            except _LOST as e:
                if await self._outage(e):
                    continue
                log.warning("leader election cannot connect; retrying", retry_in=backoff, error=str(e))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = self.poll_interval
            try:
                await self._acquire(conn)
                await self._lead(conn, work)
                return
            except LeadershipLostError as e:
                lost = e
            finally:
                self.is_leader = False
                self.backend_pid = None
                await _close(conn)
            if lost is not None and await self._outage(lost.__cause__ or lost):
                continue
            log.warning("leadership connection lost; standing by again", error=str(lost))
            # The replica whose connection just failed is the likelier sick one: give a healthy
            # standby (polling every `poll_interval`) the first chance at the lock.
            await asyncio.sleep(self.rejoin_delay)

    async def _outage(self, error: BaseException) -> bool:
        """Whether `error` was the database's outage (then it is over now), not ours alone."""
        return self.availability is not None and await self.availability.waited_out(error, 30.0)

    async def _acquire(self, conn: asyncpg.Connection) -> None:
        self.backend_pid = conn.get_server_pid()
        announced = False
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                if not announced:
                    log.info("standing by: another replica leads", lock=self.key)
                    announced = True
                await asyncio.sleep(self.poll_interval)
        except _LOST as e:
            raise LeadershipLostError(f"lock connection lost while standing by: {e}") from e
        self.is_leader = True
        log.info("elected leader", lock=self.key, backend_pid=self.backend_pid)

    async def _lead(self, conn: asyncpg.Connection, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` until it returns, or stop it as soon as the lock connection fails."""
        closed = asyncio.Event()
        conn.add_termination_listener(lambda _: closed.set())
        working = asyncio.ensure_future(work())
        watching = asyncio.ensure_future(self._watch(conn, closed))
        try:
            done, _ = await asyncio.wait({working, watching}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (working, watching):
                task.cancel()
            await asyncio.gather(working, watching, return_exceptions=True)
        if working in done:
            working.result()  # the work's own error, if any, is not a lost leadership
            return
        raise watching.exception() or LeadershipLostError("lock connection lost")

    async def _watch(self, conn: asyncpg.Connection, closed: asyncio.Event) -> None:
        """Raise once the lock connection closes or stops answering (a half-open TCP connection)."""
        while True:
            await wait_or_timeout(closed, self.check_interval)
            if closed.is_set() or conn.is_closed():
                raise LeadershipLostError("lock connection closed")
            try:
                async with asyncio.timeout(self.check_timeout):
                    await conn.fetchval("SELECT 1")
            except _LOST as e:
                raise LeadershipLostError(f"lock connection unresponsive: {e}") from e


async def _close(conn: asyncpg.Connection) -> None:
    """Close, or abort a connection that cannot say goodbye (the server may be gone)."""
    try:
        async with asyncio.timeout(2):
            await conn.close()
    except Exception:  # a broken connection: drop it without the protocol's goodbye
        conn.terminate()
