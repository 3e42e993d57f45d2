"""Whether this process's database answers: outages noticed, logged once each way, waited out.

Everything in a process that talks to PostgreSQL shares one `Availability`. A failure that means
"the database cannot be reached" (refused, dropped, shutting down, not accepting connections)
makes it probe with a fresh connection at once: if that fails too, an outage has begun. It is
logged once, then probed every `probe_every` seconds until a probe connects, which ends it:
logged once more with how long it lasted and how many requests were refused meanwhile. A blip
(one stale connection) that the first probe contradicts logs nothing.

Background loops wait for the end (`wait_back`) instead of backing off, so they resume within a
probe of the database's return; the pools' connections from before the outage are expired then,
so none is reused stale. "Busy" (the connection limit reached, or no pooled connection free in
time) is not an outage: the database answers, there is just no room; it is logged once when it
starts and once when it has not recurred for `busy_quiet` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

import asyncpg
import structlog

from adapters import metrics
from ledger.masking import scrub

log = structlog.get_logger(__name__)

Kind = Literal["unreachable", "busy"]


class DatabaseUnavailableError(Exception):
    """The database cannot take this work now; `retry_after` seconds is a fair wait."""

    kind: Kind = "unreachable"
    retry_after = 2


class DatabaseUnreachableError(DatabaseUnavailableError):
    """The database refuses or drops connections (down, restarting, not accepting connections)."""


class DatabaseBusyError(DatabaseUnavailableError):
    """No connection was free in time: the pool is exhausted or the server's limit is reached."""

    kind: Kind = "busy"
    retry_after = 1


_DOWN = (
    asyncpg.PostgresConnectionError,  # 08xxx: the connection failed or no longer exists
    asyncpg.CannotConnectNowError,  # 57P03: starting up, shutting down, in recovery
    asyncpg.AdminShutdownError,  # 57P01: terminated by an administrator or a fast shutdown
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.InternalClientError,  # a connection left broken by a failure ("cannot switch to state")
    ConnectionError,  # refused, reset, aborted
)


def classify(exc: BaseException) -> Kind | None:
    """ "unreachable" or "busy" when `exc` means the database cannot take work now, else None."""
    if isinstance(exc, DatabaseUnavailableError):
        return exc.kind
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return "busy"
    if isinstance(exc, _DOWN):
        return "unreachable"
    message = str(exc)
    if isinstance(exc, asyncpg.ObjectNotInPrerequisiteStateError) and "accepting connections" in message:
        return "unreachable"  # ALTER DATABASE … ALLOW_CONNECTIONS false
    if isinstance(exc, asyncpg.InterfaceError) and "connection" in message and "closed" in message:
        return "unreachable"
    return None


class Expirable(Protocol):
    async def expire_connections(self) -> None: ...


Probe = Callable[[], Awaitable[None]]


class Availability:
    """One process's view of one database. See the module docstring."""

    def __init__(self, probe: Probe, *, probe_every: float = 0.1, busy_quiet: float = 5.0) -> None:
        self._probe = probe
        self._probe_every = probe_every
        self._busy_quiet = busy_quiet
        self._pools: list[Expirable] = []
        self._back = asyncio.Event()
        self._back.set()
        self._prober: asyncio.Task[None] | None = None
        self._outage_since: float | None = None  # monotonic time of the first failure
        self._confirmed = False
        self._refused = 0
        self._busy_since: float | None = None
        self._busy_last = 0.0
        self._busy_refused = 0
        self._busy_watch: asyncio.Task[None] | None = None
        self.outages = 0

    @classmethod
    def of_dsn(cls, dsn: str, **kwargs: float) -> Availability:
        """Probing with a fresh connection to `dsn` (a full server answers too: it is up)."""

        async def probe() -> None:
            try:
                conn = await asyncpg.connect(dsn, timeout=2, statement_cache_size=0)
            except asyncpg.TooManyConnectionsError:
                return
            try:
                await conn.fetchval("SELECT 1")
            finally:
                await conn.close(timeout=1)

        return cls(probe, **kwargs)

    def watch(self, pool: Expirable) -> None:
        """Expire `pool`'s connections whenever an outage ends."""
        self._pools.append(pool)

    @property
    def state(self) -> Literal["ok", "unreachable", "busy"]:
        if self._outage_since is not None:
            return "unreachable"
        return "busy" if self._busy_since is not None else "ok"

    def noticed(self, exc: BaseException) -> Kind | None:
        """Take note of `exc` if it says the database cannot take work; return which kind."""
        kind = classify(exc)
        if kind == "unreachable" and self._outage_since is None:
            self._outage_since = time.monotonic()
            self._confirmed = False
            self._refused = 0
            self._back.clear()
            self._prober = asyncio.get_running_loop().create_task(self._probe_until_back(exc))
        elif kind == "busy":
            self._busy_began()
        return kind

    def refused(self, kind: Kind) -> None:
        """Count a request answered 503 for want of the database."""
        metrics.DATABASE_REFUSED.labels(kind).inc()
        if kind == "unreachable" and self._outage_since is not None:
            self._refused += 1
        elif kind == "busy":
            self._busy_refused += 1

    async def waited_out(self, exc: BaseException, timeout: float) -> bool:
        """If `exc` means the database is unreachable, wait (at most `timeout` s) until it answers
        again. Whether there was an outage (confirmed by a probe), not a blip of one connection."""
        before = self.outages - (1 if self._outage_since is not None and self._confirmed else 0)
        if self.noticed(exc) != "unreachable":
            return False
        await self.wait_back(timeout)
        return self.outages > before

    async def wait_back(self, timeout: float) -> None:
        """Return once no outage is going on, or after `timeout` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._back.wait()

    async def close(self) -> None:
        for task in (self._prober, self._busy_watch):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _probe_until_back(self, first: BaseException) -> None:
        try:
            while True:
                try:
                    await self._probe()
                except Exception as e:
                    if classify(e) is None and not isinstance(e, OSError | TimeoutError):
                        raise
                    if not self._confirmed:
                        self._confirmed = True
                        self.outages += 1
                        metrics.DATABASE_OUTAGES.inc()
                        log.error("database unavailable", error=_describe(first), probe=_describe(e))
                    await asyncio.sleep(self._probe_every)
                    continue
                await self._ended()
                return
        except Exception as e:  # a probe that cannot work at all must not leave loops waiting forever
            log.error("database probe failed", exc_info=e)
            await self._ended()
        finally:
            self._prober = None

    async def _ended(self) -> None:
        since, self._outage_since = self._outage_since, None
        for pool in self._pools:
            await pool.expire_connections()  # none of their connections from before is trusted
        if self._confirmed and since is not None:
            log.warning(
                f"database back after {time.monotonic() - since:.1f} s",
                outage_seconds=round(time.monotonic() - since, 3),
                refused_requests=self._refused,
            )
        self._back.set()

    def _busy_began(self) -> None:
        self._busy_last = time.monotonic()
        if self._busy_since is None:
            self._busy_since = self._busy_last
            self._busy_refused = 0
            log.warning("database busy: no connection free; requests wait, then get 503")
            self._busy_watch = asyncio.get_running_loop().create_task(self._busy_until_quiet())

    async def _busy_until_quiet(self) -> None:
        try:
            # The deadline moves with each refusal: sleep until it stops moving.
            while (wait := self._busy_last + self._busy_quiet - time.monotonic()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)
            since, self._busy_since = self._busy_since or self._busy_last, None
            log.warning(
                f"database no longer busy after {self._busy_last - since:.1f} s",
                busy_seconds=round(self._busy_last - since, 3),
                refused_requests=self._busy_refused,
            )
        finally:
            self._busy_watch = None


def _describe(exc: BaseException) -> str:
    return scrub(f"{type(exc).__name__}: {exc}")[:300]


def availability_of(pool: object) -> Availability | None:
    """The `Availability` a pool reports to (pools made by `adapters/postgres/pool.py` have one)."""
    found = getattr(pool, "availability", None)
    return found if isinstance(found, Availability) else None


class _FloorFailures(logging.Filter):
    """asyncpg retries its pool's minimum size with a traceback each time (1 s, 2 s, … apart);
    during an outage that is noise: the outage has its own two lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return exc is None or classify(exc) is None


def quiet_pool_floor_retries() -> None:
    pool_log = logging.getLogger("asyncpg.pool")
    if not any(isinstance(f, _FloorFailures) for f in pool_log.filters):
        pool_log.addFilter(_FloorFailures())
