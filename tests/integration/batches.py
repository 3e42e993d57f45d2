"""Apply a projection's events one by one and in one batch, and say what each leaves behind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from adapters.postgres.pool import Connection
from projections.projection import Envelope, Projection

Snapshot = Callable[[asyncpg.Pool], Awaitable[Any]]


def envelopes(events: Sequence[Any], start: int) -> list[Envelope]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return [Envelope(start + n, at + timedelta(seconds=n), type(e).TOPIC, e) for n, e in enumerate(events)]


async def one_by_one_and_batched(
    pool: asyncpg.Pool,
    projection: Projection,
    before: list[Envelope],
    batch: list[Envelope],
    snapshot: Snapshot,
    forget: Callable[[Connection], Awaitable[object]],
) -> tuple[Any, Any]:
    """What `snapshot` shows after `before` then `batch` applied an event a batch, and after
    `before` then `batch` as one batch (`forget` removes the first pass's rows in between)."""
    for envelope in [*before, *batch]:
        async with pool.acquire() as conn, conn.transaction():
            await projection.apply(conn, [envelope])
    single = await snapshot(pool)
    async with pool.acquire() as conn:
        await forget(conn)
    for part in (before, batch):
        async with pool.acquire() as conn, conn.transaction():
            await projection.apply(conn, part)
    return single, await snapshot(pool)
