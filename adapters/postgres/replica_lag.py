"""How far a replica's read models are behind the primary's, in seconds, from position samples.

Physical replication gives no "seconds behind" that means anything on an idle primary, and the
replica's WAL positions say nothing about read models. So each check samples the primary's
read-model position with the time; a replica whose read models have reached position R holds
everything the primary's held at the newest sample at or below R, so it is at most that
sample's age behind. A replica at or past the newest sample is not behind at all.
"""

from __future__ import annotations

import math
from collections import deque


class ReplicaLag:
    def __init__(self, keep_seconds: float = 60.0) -> None:
        self._samples: deque[tuple[float, int]] = deque()
        self._keep = keep_seconds

    def primary_at(self, when: float, position: int) -> None:
        """The primary's read models had reached `position` at `when` (a monotonic clock)."""
        self._samples.append((when, position))
        while self._samples and self._samples[0][0] < when - self._keep:
            self._samples.popleft()

    def behind(self, when: float, replica_position: int) -> float:
        """Seconds the replica's read models (at `replica_position`, measured after the last sample)
        are behind at `when`: 0 when they have what the primary's had at the last sample, infinite
        when they have less than any sample kept."""
        if not self._samples or replica_position >= self._samples[-1][1]:
            return 0.0
        for sampled, position in reversed(self._samples):
            if position <= replica_position:
                return max(0.0, when - sampled)
        return math.inf
