"""How failed logins slow down and then block further attempts, per account and per client.

Every attempt is counted before the password is checked and forgiven when it succeeds, so a burst
of parallel guesses is counted as it arrives instead of slipping through before the first failure
is written. After `slow_after` attempts in the window, each next attempt must wait 1, 2, 4 … s
(capped); at `block_after`, attempts are refused for `block_for`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    slow_after: int
    block_after: int
    window: timedelta = timedelta(minutes=15)
    block_for: timedelta = timedelta(minutes=15)
    max_delay: timedelta = timedelta(minutes=1)

    def delay(self, attempts: int) -> timedelta:
        """How long the next attempt must wait after `attempts` counted attempts."""
        if attempts >= self.block_after:
            return self.block_for
        if attempts <= self.slow_after:
            return timedelta(0)
        return min(timedelta(seconds=2 ** (attempts - self.slow_after - 1)), self.max_delay)


ACCOUNT_POLICY = ThrottlePolicy(slow_after=3, block_after=10)
CLIENT_POLICY = ThrottlePolicy(slow_after=20, block_after=100)


@dataclass(frozen=True, slots=True)
class ThrottleState:
    attempts: int
    window_start: datetime
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class ThrottleVerdict:
    """`allowed`, or refused for `retry_after` whole seconds; `state` is what to store.

    `blocks` says this attempt reached the block threshold: if it fails, the block begins.
    """

    allowed: bool
    state: ThrottleState
    retry_after: int = 0
    blocks: bool = False


def attempt(policy: ThrottlePolicy, state: ThrottleState | None, now: datetime) -> ThrottleVerdict:
    """Count one attempt at `now`, or refuse it while an earlier delay is still running."""
    if state is not None and state.next_attempt_at > now:
        wait = (state.next_attempt_at - now).total_seconds()
        return ThrottleVerdict(False, state, retry_after=max(1, math.ceil(wait)))
    if state is None or state.window_start + policy.window <= now:
        state = ThrottleState(0, now, now)
    attempts = state.attempts + 1
    new = ThrottleState(attempts, state.window_start, now + policy.delay(attempts))
    return ThrottleVerdict(True, new, blocks=attempts == policy.block_after)


def forgive(state: ThrottleState, now: datetime, *, reset: bool) -> ThrottleState:
    """After a success: forget the account's attempts (`reset`), or only this one (a shared client)."""
    if reset:
        return ThrottleState(0, now, now)
    return ThrottleState(max(state.attempts - 1, 0), state.window_start, state.next_attempt_at)
