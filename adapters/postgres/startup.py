"""Start-up: wait for the database to answer, a bounded time, saying so as it goes.

A process started together with its database (a node reboot, a whole deployment at once) should
not die with a traceback because it came up first: it retries with backoff, one structured log
line per attempt, and gives up after `within` seconds with a message that says what to check.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import structlog

from adapters.postgres.availability import classify
from adapters.postgres.dsn import describe
from ledger.masking import scrub

log = structlog.get_logger(__name__)


class DatabaseNotReachedError(RuntimeError):
    """The database did not answer within the start-up wait; the message says what to check."""


async def wait_for_database(dsn: str, within: float, *, first_delay: float = 0.5, most: float = 5.0) -> None:
    """Return once `dsn` accepts a connection; raise `DatabaseNotReachedError` after `within` s.

    Only "cannot reach it" is retried; a wrong password or a missing database will not fix
    itself, so those are raised at once (as the same error, with the server's reason).
    """
    deadline = time.monotonic() + within
    delay, attempt = first_delay, 0
    while True:
        attempt += 1
        try:
            conn = await asyncpg.connect(dsn, timeout=min(10.0, max(within, 1.0)), statement_cache_size=0)
        except Exception as e:
            reason = scrub(f"{type(e).__name__}: {e}")[:300]
            if classify(e) is None and not isinstance(e, OSError):
                raise DatabaseNotReachedError(
                    f"the database at {describe(dsn)} refused us: {reason}"
                ) from None
            left = deadline - time.monotonic()
            if left <= 0:
                raise DatabaseNotReachedError(
                    f"the database at {describe(dsn)} did not answer within {within:g} s "
                    f"({attempt} attempts; last: {reason}); check DATABASE_URL and that the server is up, "
                    "or wait longer with OPTIN_DB_STARTUP_WAIT"
                ) from None
            wait = min(delay, left)
            log.warning(
                "database not reachable yet; retrying", attempt=attempt, retry_in=round(wait, 2), error=reason
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, most)
            continue
        await conn.close()
        if attempt > 1:
            log.info("database reached", attempts=attempt)
        return
