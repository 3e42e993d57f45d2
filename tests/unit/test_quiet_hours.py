"""Quiet hours, by example: the recipient's zone from the number, overlaps, DST days, exemptions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time

import pytest

from ledger.errors import InvalidValueError
from ledger.quiet_hours import QuietHours, SendingWindow, next_opening, zones_for_number

NEW_YORK = "+12125550123"
AUSTRALIAN_MOBILE = "+61412345678"
TOLL_FREE = "+18005550100"


def test_the_zone_comes_from_the_number() -> None:
    assert zones_for_number(NEW_YORK) == ("America/New_York",)
    assert zones_for_number("+13105550123") == ("America/Los_Angeles",)
    assert "Australia/Perth" in zones_for_number(AUSTRALIAN_MOBILE)
    # Not precise for this UK mobile: its country's zones.
    assert "Europe/London" in zones_for_number("+447700900123")


def test_a_marketing_sms_before_eight_is_held_until_eight_local() -> None:
    policy = QuietHours()
    at = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # 06:00 in New York (EDT)
    held = policy.held_until(channel="sms", purpose="marketing", optin_id=None, address=NEW_YORK, at=at)
    assert held == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # 08:00 EDT
    noon = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    assert (
        policy.held_until(channel="sms", purpose="marketing", optin_id=None, address=NEW_YORK, at=noon)
        is None
    )


def test_after_nine_pm_it_waits_for_the_next_morning() -> None:
    at = datetime(2026, 1, 15, 2, 30, tzinfo=UTC)  # 21:30 EST the day before
    held = QuietHours().held_until(channel="sms", purpose="marketing", optin_id=None, address=NEW_YORK, at=at)
    assert held == datetime(2026, 1, 15, 13, 0, tzinfo=UTC)  # 08:00 EST


def test_transactional_and_email_are_exempt_by_default_and_exemption_is_configurable() -> None:
    at = datetime(2026, 7, 1, 6, 0, tzinfo=UTC)  # 02:00 in New York
    policy = QuietHours()
    assert (
        policy.held_until(channel="sms", purpose="transactional", optin_id=None, address=NEW_YORK, at=at)
        is None
    )
    assert (
        policy.held_until(channel="email", purpose="marketing", optin_id=None, address="a@b.co", at=at)
        is None
    )
    strict = QuietHours(exempt=frozenset())
    assert strict.held_until(channel="sms", purpose="transactional", optin_id=None, address=NEW_YORK, at=at)


def test_a_program_may_have_its_own_window() -> None:
    optin_id = uuid.uuid4()
    policy = QuietHours(programs={optin_id: SendingWindow(time(10), time(18))})
    at = datetime(2026, 7, 1, 13, 0, tzinfo=UTC)  # 09:00 EDT: open by default, not for this program
    assert (
        policy.held_until(channel="sms", purpose="marketing", optin_id=None, address=NEW_YORK, at=at) is None
    )
    held = policy.held_until(channel="sms", purpose="marketing", optin_id=optin_id, address=NEW_YORK, at=at)
    assert held == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)


def test_a_number_spanning_zones_gets_the_most_restrictive_overlap() -> None:
    # An Australian mobile may be anywhere from the Cocos Islands (UTC+6:30) to Lord Howe (UTC+10:30).
    at = datetime(2026, 7, 1, 23, 0, tzinfo=UTC)  # 09:00 in Sydney, 07:00 in Perth
    held = QuietHours().held_until(
        channel="sms", purpose="marketing", optin_id=None, address=AUSTRALIAN_MOBILE, at=at
    )
    # Perth reaches 08:00 at 00:00 UTC, Christmas Island (UTC+7) at 01:00, the Cocos Islands
    # (UTC+6:30) last, at 01:30 UTC: the window opens when it is open everywhere.
    assert held == datetime(2026, 7, 2, 1, 30, tzinfo=UTC)


def test_zones_that_share_no_hour_fall_back_to_the_deployment_zone() -> None:
    at = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
    morning = SendingWindow(time(8), time(12))
    # 08:00-12:00 in Kolkata is 02:30-06:30 UTC; in New York (EDT) 12:00-16:00 UTC: never both.
    apart = ("Asia/Kolkata", "America/New_York")
    assert next_opening(morning, apart, at) is None
    policy = QuietHours(fallback_zone="America/Chicago")
    assert policy.opening(morning, apart, at) == datetime(2026, 7, 1, 13, 0, tzinfo=UTC)  # 08:00 CDT


def test_a_toll_free_number_may_be_anywhere_in_north_america_and_still_gets_a_window() -> None:
    zones = zones_for_number(TOLL_FREE)
    assert len(zones) > 20  # Guam to Newfoundland: the wall clocks still share 22:00-23:30 UTC
    at = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
    held = QuietHours().held_until(
        channel="sms", purpose="marketing", optin_id=None, address=TOLL_FREE, at=at
    )
    assert held == datetime(2026, 7, 1, 22, 0, tzinfo=UTC)


def test_a_window_starting_in_the_skipped_hour_opens_at_the_change() -> None:
    window = SendingWindow(time(2, 30), time(5))
    at = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)  # 01:00 EST; at 07:00 UTC clocks jump 02:00 → 03:00
    assert next_opening(window, ["America/New_York"], at) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_a_window_ending_in_the_repeated_hour_reopens_for_its_second_pass() -> None:
    window = SendingWindow(time(0), time(1, 30))
    at = datetime(2026, 11, 1, 5, 45, tzinfo=UTC)  # 01:45 EDT: closed; at 06:00 UTC it is 01:00 EST
    assert next_opening(window, ["America/New_York"], at) == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["21:00-08:00", "8-21", "08:00", "09:00-09:00"])
def test_bad_windows_are_refused(text: str) -> None:
    with pytest.raises(InvalidValueError):
        SendingWindow.parse(text)


def test_windows_parse_and_print() -> None:
    assert str(SendingWindow.parse(" 07:30 - 20:00 ")) == "07:30-20:00"
