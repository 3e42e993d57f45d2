"""`ledger.ports.Background` on asyncio tasks: kept (not garbage-collected mid-way), logged when
they fail, and awaited at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class AsyncioBackground:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], what: str) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception as e:
                log.error("background work failed", what=what, exc_info=e)

        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """Let handed-off work finish (bounded: a stuck task must not hold up a shutdown)."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            log.error("background work still running at shutdown; cancelled", stack=str(task.get_stack()))
            task.cancel()
