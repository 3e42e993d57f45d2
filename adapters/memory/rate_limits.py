"""Sliding-window rate limits in memory, on an injectable clock (one process only)."""

from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta

from adapters.clock import SystemClock
from ledger.ports import Clock


class InMemoryRateLimiter:
    """`ledger.ports.RateLimiter` counting hit times per bucket; old hits drop out as they expire."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._hits: dict[str, deque[datetime]] = {}

    async def hit(self, bucket: str, limit: int, window: timedelta) -> int | None:
        now = self._clock.now()
        hits = self._hits.setdefault(bucket, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            wait = (hits[0] + window) - now
            return max(1, math.ceil(wait.total_seconds()))
        hits.append(now)
        return None
