"""Long-running loops that survive failures yet always stop when cancelled.

A cleanup step that fails while a task is being cancelled (say, UNLISTEN on a connection whose
query was just interrupted) raises an ordinary exception in place of the CancelledError; a loop
that logs and retries every Exception would then never stop. `forever` checks for that.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


def being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def forever(step: Callable[[], Awaitable[None]], what: str, *, max_backoff: float = 10.0) -> None:
    """Run `step` again and again; log each failure and back off; stop when cancelled."""
    backoff = 0.1
    while True:
        try:
            await step()
            backoff = 0.1
        except asyncio.CancelledError:
            raise
        except Exception as e:
            if being_cancelled():
                raise asyncio.CancelledError from e
            log.error(f"{what} failed; retrying", retry_in=backoff, exc_info=e)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff)


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> None:
    """Wait for `event` at most `seconds`. Unlike `asyncio.wait_for` on Python 3.11, a cancel
    that lands as the event fires is never swallowed (that left loops running after shutdown)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
