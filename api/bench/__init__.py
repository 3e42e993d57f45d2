"""`optin-ledger bench NAME`: speed as ratios against a baseline measured in the same run."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_like_serve(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on the event loop `serve` uses (uvicorn picks uvloop where it is installed)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows, where uvicorn falls back to asyncio too
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
