"""Long-running loops that survive failures yet always stop when cancelled.

A failure that means the database is down is not logged here (the process's `Availability` logs
the outage once each way) and is not backed off: the loop waits for the database to come back
and resumes at once, instead of sleeping out a backoff grown during the outage.

A cleanup step that fails while a task is being cancelled (say, UNLISTEN on a connection whose
query was just interrupted) raises an ordinary exception in place of the CancelledError; a loop
that logs and retries every Exception would then never stop. `forever` checks for that.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from adapters.postgres.availability import Availability

log = structlog.get_logger(__name__)


def being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def forever(
    step: Callable[[], Awaitable[None]],
    what: str,
    *,
    max_backoff: float = 10.0,
    availability: Availability | None = None,
) -> None:
    """Run `step` again and again; log each failure and back off; stop when cancelled.

    With `availability`, a failure for want of the database waits for it instead (see above).
    """
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
            kind = availability.noticed(e) if availability is not None else None
            if kind == "unreachable":
                assert availability is not None
                await availability.wait_back(max_backoff)
                backoff = 0.1
                continue
            if kind is None:
                log.error(f"{what} failed; retrying", retry_in=backoff, exc_info=e)
            await asyncio.sleep(backoff if kind is None else min(backoff, 1.0))
            backoff = min(backoff * 2, max_backoff)


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> None:
    """Wait for `event` at most `seconds`. Unlike `asyncio.wait_for` on Python 3.11, a cancel
    that lands as the event fires is never swallowed (that left loops running after shutdown)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
