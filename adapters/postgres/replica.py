"""The read replica: an asyncpg pool on `DATABASE_READ_URL` that hands a query to the primary
whenever the replica cannot answer it well.

A streaming replica (CloudNativePG's `-ro` service) is a copy of the whole primary, projection
tracking table included, so a replica whose tracking rows show position P holds every read model
as of P. `ReplicaPool` is an `asyncpg.Pool` (the read functions take one as they are) whose
`fetch`, `fetchrow` and `fetchval` run on the replica while it is *serving*, and on the primary
otherwise, or when the replica fails them for want of a connection (down, restarting, refusing
connections) or cancels them to replay WAL (adapters/postgres/replica_connection.py). It stops
serving at such a failure and whenever its read models fall more than `max_lag_seconds` behind
the primary's; a check every `check_seconds` puts it back. `acquire()` is the replica's own,
without fallback.

A request that must see a position gets one replica connection (`connection_at`): waiting and
reading on the same connection keeps the answer consistent even when the URL balances over
several replicas at different points of replay. Which database a request reads is decided in
`api/dependencies.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg
import structlog
from asyncpg.transaction import Transaction

from adapters import metrics
from adapters.postgres.pool import (
    Connection,
    light_reset,  # the primary's: one ROLLBACK at most
)
from adapters.postgres.replica_connection import GONE, Borrowed, Fallback, ReplicaConnection, ours
from adapters.postgres.replica_lag import ReplicaLag
from adapters.postgres.replica_settings import ReadReplicaSettings
from adapters.resilience import forever

log = structlog.get_logger(__name__)

T = TypeVar("T")
if TYPE_CHECKING:
    ReadDatabase: TypeAlias = asyncpg.Pool | Connection
    """Where a request's read-model queries go: a pool (the replica's or the primary's) or one
    replica connection known to have replayed the position the request asked for."""
else:  # Litestar checks dependency values with msgspec, which takes one custom class per union
    ReadDatabase = Any
Reached = Callable[[ReadDatabase], Awaitable[int | None]]
"""The position the read models of a database have reached (projections/runner.py)."""


class Unavailable(Exception):
    """No replica connection could be had (refused, timed out, refused the login)."""


class ReplicaPool(asyncpg.Pool):
    """See the module docstring. Open with `open_replica_pool`; `close()` stops the checks too."""

    __slots__ = (
        "_check_task",
        "_fallback",
        "_in_transaction",
        "_lag",
        "_primary",
        "_reached",
        "_replica",
        "_serving",
    )

    def __init__(
        self, dsn: str, primary: asyncpg.Pool, reached: Reached, replica: ReadReplicaSettings, **pool: Any
    ) -> None:
        super().__init__(dsn, **pool)
        self._in_transaction = pool.get("statement_cache_size") == 0
        self._primary = primary
        self._reached = reached
        self._replica = replica
        self._lag = ReplicaLag()
        self._serving: bool | None = None  # unknown (not serving) until the first check
        self._check_task: asyncio.Task[None] | None = None
        self._fallback = Fallback(primary, self.lost)

    @property
    def serving(self) -> bool:
        return bool(self._serving)

    @property
    def primary(self) -> asyncpg.Pool:
        return self._primary

    async def fetch(
        self, query: str, *args: object, timeout: float | None = None, record_class: Any = None
    ) -> Any:
        return await self._either(
            lambda db: db.fetch(query, *args, timeout=timeout, record_class=record_class)
        )

    async def fetchrow(
        self, query: str, *args: object, timeout: float | None = None, record_class: Any = None
    ) -> Any:
        return await self._either(
            lambda db: db.fetchrow(query, *args, timeout=timeout, record_class=record_class)
        )

    async def fetchval(self, query: str, *args: object, column: int = 0, timeout: float | None = None) -> Any:
        return await self._either(lambda db: db.fetchval(query, *args, column=column, timeout=timeout))

    async def _either(self, run: Callable[[ReadDatabase], Awaitable[T]]) -> T:
        if self._serving:
            try:
                return await self._on_replica(run)
            except Unavailable:
                metrics.READ_FALLBACKS.labels("unreachable").inc()
        return await run(self._primary)

    async def _on_replica(self, run: Callable[[ReadDatabase], Awaitable[T]]) -> T:
        """`run` on a replica connection lent to it (see `ReplicaConnection`), or `Unavailable`."""
        borrowed = await self._connection()
        conn = ours(borrowed)
        conn.lend(self._fallback)
        try:
            return await run(conn)
        finally:
            conn.lend(None)
            await self.release(borrowed)

    async def _connection(self) -> Borrowed:
        try:
            conn: Borrowed = await asyncpg.Pool.acquire(self)
        except Exception as e:  # whatever stops a connection (refused, auth, role): not serving
            self.lost(e)
            raise Unavailable from e
        return conn

    @contextlib.asynccontextmanager
    async def connection_at(self, position: int, timeout: float) -> AsyncIterator[Connection | None]:
        """One replica connection whose read models include `position`, lent to the caller's
        reads; None when the replica is not serving or has not replayed that far in `timeout`."""
        if not self._serving:
            yield None
            return
        try:
            borrowed = await self._connection()
        except Unavailable:
            metrics.READ_FALLBACKS.labels("unreachable").inc()
            yield None
            return
        conn = ours(borrowed)
        # Behind a transaction-pooling PgBouncer (the chart's `-ro` pooler; the statement cache is
        # off there) only a transaction keeps statements on one standby: then the wait and the
        # reads are one read-only transaction, each statement seeing the latest replay (read
        # committed). Not otherwise: its table locks would hold up replay of a VACUUM truncation.
        transaction = conn.transaction(readonly=True) if self._in_transaction else None
        try:
            if not await self._begin_and_wait(transaction, conn, position, timeout):
                yield None
                return
            conn.lend(self._fallback)
            yield conn
        finally:
            conn.lend(None)
            if transaction is not None:
                with contextlib.suppress(Exception):  # nothing to keep; a dead connection is dropped
                    await transaction.rollback()
            await self.release(borrowed)

    async def _begin_and_wait(
        self, transaction: Transaction | None, conn: ReplicaConnection, position: int, timeout: float
    ) -> bool:
        try:
            if transaction is not None:
                await transaction.start()
        except GONE as e:
            self.lost(e)
            metrics.READ_FALLBACKS.labels("unreachable").inc()
            return False
        return await self._wait(conn, position, timeout)

    async def _wait(self, conn: ReplicaConnection, position: int, timeout: float) -> bool:
        """Has this connection's replica replayed `position` (asked there only) within `timeout`?"""
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + timeout, 0.002
        try:
            while (await self._reached(conn) or 0) < position:
                if loop.time() >= deadline:
                    metrics.READ_FALLBACKS.labels("min_position").inc()
                    return False
                await asyncio.sleep(min(delay, max(deadline - loop.time(), 0)))
                delay = min(delay * 2, 0.05)
        except GONE as e:
            self.lost(e)
            metrics.READ_FALLBACKS.labels("unreachable").inc()
            return False
        return True

    def lost(self, error: BaseException) -> None:
        """A replica connection failed: reads go to the primary until a check finds it back."""
        self._set_serving(False, "unreachable", error=f"{type(error).__name__}: {error}"[:200])

    def _set_serving(self, serving: bool, reason: str, **context: Any) -> None:
        metrics.READ_REPLICA_SERVING.set(1 if serving else 0)
        if serving == self._serving:
            return
        self._serving = serving
        if serving:
            log.info("read replica serving reads", **context)
        else:
            log.warning(f"read replica {reason}: the primary answers reads", **context)

    async def check(self) -> None:
        """Measure the replica: reachable, and how far behind the primary its read models are."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):  # the primary's own outage is not the replica's
            self._lag.primary_at(loop.time(), await self._reached(self._primary) or 0)
        try:
            async with asyncio.timeout(self._replica.connect_timeout + 1.0):
                replica_at = await self._measure()
        except Unavailable as e:
            self.lost(e.__cause__ or e)
            return
        except GONE as e:  # TimeoutError among them
            self.lost(e)
            return
        except Exception as e:  # not a replica of this database (no read models there, say)
            self._set_serving(False, "unusable", error=f"{type(e).__name__}: {e}"[:200])
            return
        lag = self._lag.behind(loop.time(), replica_at)
        metrics.READ_REPLICA_LAG_SECONDS.set(min(lag, 1e9))
        fresh = lag <= self._replica.max_lag_seconds
        self._set_serving(fresh, "lagging", lag_seconds=round(min(lag, 1e9), 3))

    async def _measure(self) -> int:
        """The replica's read-model position, asked of the replica alone."""
        conn = await self._connection()
        try:
            return await self._reached(conn) or 0
        finally:
            await self.release(conn)

    async def _check_forever(self) -> None:
        async def step() -> None:
            await asyncio.sleep(self._replica.check_seconds)
            await self.check()

        await forever(step, "read replica check")

    def start(self) -> None:
        """Check the replica every `check_seconds` until `close()`."""
        self._check_task = asyncio.get_running_loop().create_task(self._check_forever())

    async def close(self) -> None:
        if self._check_task is not None:
            self._check_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._check_task
        await super().close()


async def open_replica_pool(
    replica: ReadReplicaSettings,
    primary: asyncpg.Pool,
    reached: Reached,
    *,
    max_size: int,
    statement_cache_size: int,
) -> ReplicaPool:
    """The replica's pool, checked every `replica.check_seconds`. Connects lazily: a replica
    that is down at start-up leaves the primary answering until it comes up.

    Its connections take the role the primary's connections run as (`OPTIN_DB_ROLE`, when the
    primary could become it): the replica is a copy of the primary, roles included.
    """
    became = await primary.fetchrow("SELECT current_user <> session_user AS switched, current_user AS role")
    assert became is not None
    server_settings = {"application_name": "optin-ledger-reads"}
    if became["switched"]:
        server_settings["role"] = became["role"]
    pool = ReplicaPool(
        replica.url,
        primary,
        reached,
        replica,
        min_size=0,
        max_size=max_size,
        max_queries=50000,
        max_inactive_connection_lifetime=300.0,
        reset=light_reset,
        loop=None,
        connection_class=ReplicaConnection,
        record_class=asyncpg.Record,
        statement_cache_size=statement_cache_size,
        timeout=replica.connect_timeout,
        server_settings=server_settings,
    )
    await pool
    await pool.check()
    pool.start()
    return pool
