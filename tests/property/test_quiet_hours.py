"""Quiet-hours arithmetic over DST changes: the opening found is open, and nothing before it is.

Instants are drawn close to the DST transitions of zones with unusual rules (a 30-minute change on
Lord Howe, a negative one in Dublin, southern-hemisphere ones, none at all), windows at any minute
of the day including the hours a change skips or repeats, and sets of one to three zones (a
number that spans zones gets the most restrictive overlap).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.quiet_hours import SendingWindow, is_open, next_opening

ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Santiago",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Moscow",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "America/Phoenix",
]


def transitions_2026(zone: str) -> list[datetime]:
    """The DST changes of 2026 in `zone`, found hour by hour (a test-side oracle, kept simple)."""
    tz = ZoneInfo(zone)
    found, t = [], datetime(2026, 1, 1, tzinfo=UTC)
    while t.year == 2026:
        if (t + timedelta(hours=1)).astimezone(tz).utcoffset() != t.astimezone(tz).utcoffset():
            found.append(t)
        t += timedelta(hours=1)
    return found or [datetime(2026, 6, 1, tzinfo=UTC)]


CHANGES = {zone: transitions_2026(zone) for zone in ZONES}


@st.composite
def near_a_change(draw: st.DrawFn) -> tuple[tuple[str, ...], datetime]:
    zones = tuple(draw(st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True)))
    change = draw(st.sampled_from(CHANGES[zones[0]]))
    seconds = draw(st.integers(-2 * 86400, 2 * 86400))
    return zones, change + timedelta(seconds=seconds, microseconds=draw(st.integers(0, 999_999)))


@st.composite
def windows(draw: st.DrawFn) -> SendingWindow:
    start = draw(st.integers(0, 23 * 60))
    length = draw(st.integers(30, 24 * 60 - 1 - start)) if start < 24 * 60 - 31 else 30
    end = min(start + length, 24 * 60 - 1)
    return SendingWindow(time(start // 60, start % 60), time(end // 60, end % 60))


def minutes_between(start: datetime, end: datetime) -> list[datetime]:
    """`start` and every whole minute after it, before `end`."""
    first = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    out, t = [start] if start < end else [], first
    while t < end:
        out.append(t)
        t += timedelta(minutes=1)
    return out


@settings(max_examples=150, deadline=None)
@given(near_a_change(), windows())
def test_the_opening_is_open_and_nothing_before_it_is(
    where: tuple[tuple[str, ...], datetime], window: SendingWindow
) -> None:
    zones, at = where
    opening = next_opening(window, zones, at)
    if opening is None:
        # No shared hour within the horizon: then no minute of the next two days is open either.
        assert not any(is_open(window, zones, t) for t in minutes_between(at, at + timedelta(days=2)))
        return
    assert opening >= at
    assert is_open(window, zones, opening)
    # Every opening of the window starts on a whole minute (windows and DST changes are whole
    # minutes), so checking `at` and each whole minute up to the opening covers every instant.
    assert not any(is_open(window, zones, t) for t in minutes_between(at, opening))


@settings(max_examples=150, deadline=None)
@given(near_a_change(), windows())
def test_open_now_means_no_wait(where: tuple[tuple[str, ...], datetime], window: SendingWindow) -> None:
    zones, at = where
    assert (next_opening(window, zones, at) == at) == is_open(window, zones, at)


@settings(max_examples=100, deadline=None)
@given(near_a_change())
def test_a_single_zone_always_opens_within_a_day_and_a_bit(where: tuple[tuple[str, ...], datetime]) -> None:
    zones, at = where
    opening = next_opening(SendingWindow(), zones[:1], at)
    assert opening is not None
    assert opening - at <= timedelta(hours=25)  # a wall-clock day is at most 25 hours long
