"""When to try a webhook delivery again: exponential backoff with jitter, then give up.

At least once: a delivery is retried until the endpoint answers 2xx or the attempts run out
(then it is `failed`, kept in the delivery log, and can be sent again by hand). Receivers must
deduplicate by `webhook-id`, which stays the same across attempts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    max_attempts: int = 10
    base: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(hours=10)
    timeout: timedelta = timedelta(seconds=10)

    def next_attempt(
        self, attempts_made: int, now: datetime, rng: random.Random | None = None
    ) -> datetime | None:
        """When to try again after `attempts_made` failed attempts; None when they are used up."""
        if attempts_made >= self.max_attempts:
            return None
        delay = min(self.base * 2 ** (attempts_made - 1), self.cap)
        at: datetime = now + delay * (rng or random).uniform(0.75, 1.25)
        return at  # jitter: retries of many deliveries spread out


def delivered(status_code: int | None) -> bool:
    """A 2xx answer is the receiver's acknowledgement; anything else, or none, is retried."""
    return status_code is not None and 200 <= status_code < 300
