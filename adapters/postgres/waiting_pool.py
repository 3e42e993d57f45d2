"""An asyncpg pool that waits a bounded time for a connection and says why it gave up.

asyncpg's own `acquire` waits forever for a free connection, and fails at once when opening a
new one is refused (the server's or the role's connection limit): under load that turned most
requests into 500s while the connections already open were about to be free. Here a request
waits up to `wait` seconds, and while the server is full it waits for one of the pool's own
connections to come back instead of knocking again (once every `_FULL_RETRY` s at most); then
it raises `DatabaseBusyError`. A refused or dropped connection raises `DatabaseUnreachableError`.
Both go to the process's `Availability`, which the HTTP layer turns into 503 + Retry-After.

A borrowed connection whose work failed because the session was dropped is closed before it goes
back: the server's "terminating connection" can arrive before the socket closes, and such a
connection looked idle to the pool, which lent it again ("cannot switch to state 12").
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import Any

import asyncpg
from asyncpg.pool import PoolAcquireContext

from adapters.postgres.availability import (
    Availability,
    DatabaseBusyError,
    DatabaseUnavailableError,
    DatabaseUnreachableError,
    classify,
)

_FULL_RETRY = 0.25  # seconds between attempts to open a connection while the server is full


class WaitingPool(asyncpg.Pool):
    """`asyncpg.Pool` with bounded, explained waits. Made by `adapters/postgres/pool.create_pool`."""

    def __init__(self, *args: Any, wait: float, availability: Availability | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wait = wait
        self.availability = availability
        self._full_until = 0.0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        if availability is not None:
            availability.watch(self)

    def acquire(self, *, timeout: float | None = None) -> Any:
        return _Borrowed(self, timeout)

    async def _acquire(self, timeout: float | None) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.wait if timeout is None else timeout)
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._noticed(DatabaseBusyError(f"no database connection free within {self.wait:g} s"))
            if loop.time() < self._full_until and self.get_idle_size() == 0:
                await self._released_or(min(remaining, self._full_until - loop.time()))
                continue
            try:
                return await super()._acquire(remaining)  # type: ignore[misc]  # private in the stubs
            except asyncpg.TooManyConnectionsError:
                self._full_until = loop.time() + _FULL_RETRY
            except TimeoutError as e:
                if deadline - loop.time() > 0.05:  # not our wait but the connect's own timeout
                    raise self._noticed(DatabaseUnreachableError("the database did not answer")) from e
                continue  # the deadline check above says busy
            except DatabaseUnavailableError:
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError) as e:
                if classify(e) is None and not isinstance(e, OSError):
                    raise
                raise self._noticed(DatabaseUnreachableError(f"cannot connect to the database: {e}")) from e

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        try:
            await super().release(connection, timeout=timeout)
        finally:
            while self._waiters:  # one connection back: one waiter may take it
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    break

    async def _released_or(self, seconds: float) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(seconds):
                await waiter
        except TimeoutError:
            pass
        finally:
            if not waiter.done():
                waiter.cancel()

    def _noticed(self, error: DatabaseUnavailableError) -> DatabaseUnavailableError:
        if self.availability is None:
            return error
        if isinstance(error, DatabaseBusyError) and self.availability.state == "unreachable":
            error = DatabaseUnreachableError("the database is unreachable")
        self.availability.noticed(error)
        return error


class _Borrowed(PoolAcquireContext):
    """`async with pool.acquire()` (and every `pool.fetch…`): a dropped session is not lent again."""

    __slots__ = ()

    async def __aexit__(self, *exc: Any) -> None:
        if exc[1] is not None and self.connection is not None and classify(exc[1]) == "unreachable":
            discard(self.connection)
        await super().__aexit__(*exc)


def discard(conn: Any) -> None:
    """Close a borrowed connection for good (nothing to do if asyncpg has taken it back)."""
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()
