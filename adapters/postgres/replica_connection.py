"""A replica connection that, while lent to a request, runs on the primary any read the replica
cannot answer: so a replica that dies in the middle of a request costs that request nothing.

Lent or not is the replica pool's call (`ReplicaConnection.lend`): its own measurements (how far
the replica has replayed) run on the replica only, where an answer from the primary would be wrong.
Falling back never breaks a `min_position` promise: the primary is always at least as far as any
replica of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import asyncpg

from adapters import metrics

Borrowed: TypeAlias = "asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
"""A connection borrowed from a pool (the pool's proxy of one of our `ReplicaConnection`s)."""

GONE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,  # connection lost, or never made
    asyncpg.AdminShutdownError,  # the replica is stopping
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,  # starting up, or not yet consistent
    asyncpg.TooManyConnectionsError,
)
"""Errors that say the replica cannot take queries now (not that a query is wrong)."""

CONFLICT: tuple[type[BaseException], ...] = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)
"""On a hot standby: a query cancelled because replaying the primary's WAL needed its rows."""


@dataclass(frozen=True, slots=True)
class Fallback:
    primary: asyncpg.Pool
    lost: Callable[[BaseException], None]
    """Told when the replica is gone: it stops taking reads until a check finds it back."""


class ReplicaConnection(asyncpg.Connection):
    """The `connection_class` of the replica's pool."""

    __slots__ = ("_fallback", "_fallen")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fallback: Fallback | None = None
        self._fallen = False

    def lend(self, fallback: Fallback | None) -> None:
        self._fallback, self._fallen = fallback, False

    async def fetch(
        self, query: str, *args: object, timeout: float | None = None, record_class: Any = None
    ) -> Any:
        return await self._read("fetch", query, *args, timeout=timeout, record_class=record_class)

    async def fetchrow(
        self, query: str, *args: object, timeout: float | None = None, record_class: Any = None
    ) -> Any:
        return await self._read("fetchrow", query, *args, timeout=timeout, record_class=record_class)

    async def fetchval(self, query: str, *args: object, column: int = 0, timeout: float | None = None) -> Any:
        return await self._read("fetchval", query, *args, column=column, timeout=timeout)

    async def _read(self, method: str, *args: Any, **kwargs: Any) -> Any:
        here = getattr(asyncpg.Connection, method)
        fallback = self._fallback
        if fallback is None:
            return await here(self, *args, **kwargs)
        if not self._fallen:  # once fallen back (its transaction may be broken), the primary's
            reason = "unreachable"
            if self.is_closed():  # the replica dropped it since it was lent
                fallback.lost(asyncpg.ConnectionDoesNotExistError("the replica closed the connection"))
            else:
                try:
                    return await here(self, *args, **kwargs)
                except GONE as e:
                    fallback.lost(e)
                except CONFLICT:
                    reason = "conflict"
            self._fallen = True
            metrics.READ_FALLBACKS.labels(reason).inc()
        return await getattr(fallback.primary, method)(*args, **kwargs)


def ours(conn: Borrowed) -> ReplicaConnection:
    """The connection inside the pool's proxy. Requests are handed this one, not the proxy: when
    the replica drops it, the pool detaches the proxy (every call on it then fails), while our
    connection still takes the call and hands it to the primary."""
    inside = getattr(conn, "_con", None)  # where asyncpg's proxy keeps its connection
    assert isinstance(inside, ReplicaConnection)
    return inside
