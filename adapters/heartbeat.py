"""Liveness and readiness of the processes that serve no HTTP (projector, worker), as two files.

While `beating` runs, every few seconds it touches `<dir>/live` (the event loop turns: nothing to
do with the database, so a database failover never gets a pod restarted) and, when `SELECT 1` on
the pool answers in time, `<dir>/ready`. Kubernetes' exec probes, and the image's HEALTHCHECK,
ask `python -m adapters.heartbeat live|ready --dir D --within S`: exit 0 when the file is younger
than S seconds. This module imports nothing heavy, so a probe costs a bare interpreter start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncpg

EVERY = 5.0


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


async def _beat(pool: asyncpg.Pool, directory: Path, every: float) -> None:
    while True:
        _touch(directory / "live")
        with contextlib.suppress(Exception):  # no answer: simply not ready this time
            await asyncio.wait_for(pool.fetchval("SELECT 1"), timeout=every)
            _touch(directory / "ready")
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def beating(pool: asyncpg.Pool, directory: Path, every: float = EVERY) -> AsyncIterator[None]:
    """Keep the two files fresh while the body runs."""
    task = asyncio.create_task(_beat(pool, directory, every))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def fresh(path: Path, within: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime <= within
    except FileNotFoundError:
        return False


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (a fixed local URL)
            return 200 <= int(response.status) < 300
    except OSError:
        return False


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapters.heartbeat", description=__doc__)
    parser.add_argument("probe", choices=("live", "ready"))
    parser.add_argument("--dir", type=Path, required=True, help="the directory the process beats in")
    parser.add_argument("--within", type=float, default=30.0, help="seconds the file may be old")
    parser.add_argument("--http", help="no file there (a process that serves HTTP): GET this instead")
    args = parser.parse_args(argv)
    path: Path = args.dir / args.probe
    if path.exists() or not args.http:
        return 0 if fresh(path, args.within) else 1
    return 0 if _answers(args.http) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
