"""Quiet hours: marketing SMS only inside the recipient's local sending window.

The recipient's time zone comes from the number itself (`phonenumbers`' time-zone data). A number
that may be in several zones (an Australian mobile, a Russian number) gets the most restrictive
overlap: the window is open only while it is open in every one of them. A number the data knows
nothing precise about falls back to its country's zones; if those zones share no hour of the
window (a North American toll-free number could be anywhere from Guam to Samoa), the
deployment's fallback zone is used, so a message is held, never held for ever.

The window is wall-clock time, so it is defined on the local time of each instant: open at `t`
iff `start <= local(t).time() < end` in every zone. DST changes are handled by that definition:
on a spring-forward day a window starting inside the skipped hour opens at the transition; on a
fall-back day a window ending inside the repeated hour reopens for its second pass.

Pure: no I/O, no clock. The instant asked about is an argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from uuid import UUID
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as number_zones

from ledger.errors import InvalidValueError
from ledger.vocabulary import Channel, Purpose

__all__ = ["QuietHours", "SendingWindow", "is_open", "next_opening", "zones_for_number"]

_UNKNOWN = "Etc/Unknown"
_HORIZON_DAYS = 9
"""How far ahead an opening is looked for: a week and a margin for the zones' date line."""


@dataclass(frozen=True, slots=True)
class SendingWindow:
    """Local wall-clock hours a message may go out: `start` inclusive, `end` exclusive."""

    start: time = time(8, 0)
    end: time = time(21, 0)

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise InvalidValueError("a sending window is local wall-clock time, without a zone")
        if not self.start < self.end:
            raise InvalidValueError("a sending window must start before it ends (same day)")

    @classmethod
    def parse(cls, text: str) -> SendingWindow:
        """`"08:00-21:00"` → the window; `InvalidValueError` saying what is wrong."""
        start, sep, end = text.partition("-")
        if not sep:
            raise InvalidValueError(f"a sending window looks like 08:00-21:00, not {text!r}")
        try:
            return cls(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
        except ValueError:
            raise InvalidValueError(f"a sending window looks like 08:00-21:00, not {text!r}") from None

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@lru_cache(maxsize=4096)
def zones_for_number(e164: str) -> tuple[str, ...]:
    """The IANA zones a phone number may be in (its country's when the data is not precise)."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return ()
    for lookup in (number_zones.time_zones_for_number, number_zones.time_zones_for_geographical_number):
        zones = tuple(z for z in lookup(number) if z != _UNKNOWN)
        if zones:
            return zones
    return ()


def is_open(window: SendingWindow, zones: Iterable[str], at: datetime) -> bool:
    """Whether `at` falls inside the window in every zone."""
    return all(window.start <= at.astimezone(ZoneInfo(z)).time() < window.end for z in zones)


def next_opening(window: SendingWindow, zones: Iterable[str], at: datetime) -> datetime | None:
    """The first instant at or after `at` when the window is open in every zone (`at` itself if
    open now); None if the zones share no open instant in the coming week.

    The open set is a union of intervals; each begins where some zone's wall clock reaches
    `start`, or where a DST change makes a wall clock jump into the window. Those instants, and
    `at`, are the only candidates, so the first open candidate is the answer.
    """
    zones = tuple(zones)
    at = at.astimezone(UTC)
    if is_open(window, zones, at):
        return at
    horizon = at + timedelta(days=_HORIZON_DAYS)
    candidates: set[datetime] = set()
    for name in zones:
        zone = ZoneInfo(name)
        first = at.astimezone(zone).date() - timedelta(days=1)
        for day in range(_HORIZON_DAYS + 2):
            candidates |= _local_instants(first + timedelta(days=day), window.start, zone)
        candidates |= set(_transitions(zone, at, horizon))
    for candidate in sorted(c for c in candidates if at <= c <= horizon):
        if is_open(window, zones, candidate):
            return candidate
    return None


def _local_instants(day: date, wall: time, zone: ZoneInfo) -> set[datetime]:
    """The UTC instants whose wall time in `zone` on `day` is `wall` (both sides of a DST change)."""
    return {datetime.combine(day, wall, tzinfo=zone).replace(fold=f).astimezone(UTC) for f in (0, 1)}


def _transitions(zone: ZoneInfo, start: datetime, end: datetime) -> Iterable[datetime]:
    """Instants in [start, end] where the zone's UTC offset changes (to the second)."""
    step = timedelta(hours=1)
    before, offset = start, start.astimezone(zone).utcoffset()
    while before < end:
        after = before + step
        next_offset = after.astimezone(zone).utcoffset()
        if next_offset != offset:
            low, high = before, after  # offset(low) is the old one, offset(high) the new
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            yield high.replace(microsecond=0) if high.microsecond else high
        before, offset = after, next_offset


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A deployment's quiet-hours policy: the default window, per-program windows, exempt purposes."""

    default: SendingWindow = field(default_factory=SendingWindow)
    programs: Mapping[UUID, SendingWindow] = field(default_factory=dict)
    exempt: frozenset[Purpose] = frozenset({"transactional"})
    fallback_zone: str = "UTC"
    channels: frozenset[Channel] = frozenset({"sms"})

    def window_for(self, optin_id: UUID | None) -> SendingWindow:
        return self.programs.get(optin_id, self.default) if optin_id else self.default

    def zones(self, e164: str) -> tuple[str, ...]:
        """The zones the window is checked in: the number's, or the fallback when they never overlap."""
        return zones_for_number(e164) or (self.fallback_zone,)

    def held_until(
        self,
        *,
        channel: Channel,
        purpose: Purpose,
        optin_id: UUID | None,
        address: str,
        at: datetime,
    ) -> datetime | None:
        """None if the message may go at `at`; else the instant the recipient's window opens."""
        if channel not in self.channels or purpose in self.exempt:
            return None
        opening = self.opening(self.window_for(optin_id), self.zones(address), at)
        return None if opening <= at.astimezone(UTC) else opening

    def hold(
        self, channel: Channel, purpose: Purpose, optin_id: UUID | None, rule: str, address: str, at: datetime
    ) -> datetime | None:
        """For the outbox: when a message on this basis may go, if not now. The one reply a keyword
        gets and a code the contact just asked for are never held (carriers and the contact expect
        them at once), whatever the exempt purposes."""
        if rule in ("keyword_reply", "verification"):
            return None
        return self.held_until(channel=channel, purpose=purpose, optin_id=optin_id, address=address, at=at)

    def opening(self, window: SendingWindow, zones: tuple[str, ...], at: datetime) -> datetime:
        """The window's next opening in `zones`, or in the fallback zone if they share no hour of it."""
        found = next_opening(window, zones, at) or next_opening(window, (self.fallback_zone,), at)
        assert found is not None  # one zone always opens within a day
        return found
