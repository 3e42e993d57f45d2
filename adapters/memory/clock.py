"""A clock that moves only when told to: tests and in-memory worlds decide what time it is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


class ManualClock:
    """`ledger.ports.Clock` standing still at `now` until `advance` or `set` moves it."""

    def __init__(self, now: datetime = START) -> None:
        self._now = _aware(now)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = _aware(moment)


def _aware(moment: datetime) -> datetime:
    # The chain hashes epoch microseconds: a naive time has no epoch, so refuse it at once.
    if moment.tzinfo is None:
        raise ValueError("the clock needs a time zone aware datetime")
    return moment.astimezone(UTC)
