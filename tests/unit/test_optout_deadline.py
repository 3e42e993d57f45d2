"""Opt-out deadlines: immediate by default, a configured target, never past the legal bound in
business days (weekends and public holidays skipped)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from ledger.errors import InvalidValueError
from ledger.optout_deadline import LEGAL_BOUNDS, DeadlinePolicy, add_business_days

MONDAY = datetime(2026, 1, 5, 19, 0, tzinfo=UTC)  # 14:00 in New York


def test_immediate_by_default() -> None:
    assert DeadlinePolicy().due("sms", MONDAY) == MONDAY
    assert DeadlinePolicy().due("email", MONDAY) == MONDAY


def test_both_channels_are_bounded_by_ten_business_days_with_their_law() -> None:
    assert LEGAL_BOUNDS["email"].business_days == 10 and "CAN-SPAM" in LEGAL_BOUNDS["email"].law
    assert LEGAL_BOUNDS["sms"].business_days == 10 and "64.1200(a)(10)" in LEGAL_BOUNDS["sms"].law


def test_business_days_skip_weekends_and_public_holidays() -> None:
    # From Monday 5 January 2026: the 19th is Martin Luther King Jr. Day, so the 10th is the 20th.
    assert add_business_days(date(2026, 1, 5), 10, "US") == date(2026, 1, 20)
    # In the UK there is no holiday then: the 10th business day is the 19th.
    assert add_business_days(date(2026, 1, 5), 10, "GB") == date(2026, 1, 19)
    # Over Christmas and New Year (25 Dec and 1 Jan are holidays, 26-27 Dec a weekend).
    assert add_business_days(date(2026, 12, 23), 3, "US") == date(2026, 12, 29)


def test_the_legal_limit_ends_with_the_tenth_business_day_local_time() -> None:
    limit = DeadlinePolicy().legal_limit("email", MONDAY)
    assert limit == datetime(2026, 1, 21, 5, 0, tzinfo=UTC)  # midnight ending the 20th, EST


def test_the_day_of_receipt_is_local() -> None:
    late_sunday = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)  # still Sunday the 4th in New York
    assert DeadlinePolicy().legal_limit("sms", late_sunday) == datetime(2026, 1, 17, 5, 0, tzinfo=UTC)


def test_a_target_applies_within_the_bound_and_is_capped_by_it() -> None:
    two_days = DeadlinePolicy(targets={"email": timedelta(days=2)})
    assert two_days.due("email", MONDAY) == MONDAY + timedelta(days=2)
    assert two_days.due("sms", MONDAY) == MONDAY
    too_long = DeadlinePolicy(targets={"email": timedelta(days=60)})
    assert too_long.due("email", MONDAY) == too_long.legal_limit("email", MONDAY)


@pytest.mark.parametrize(
    "kwargs", [{"country": "XX"}, {"zone": "Mars/Olympus"}, {"targets": {"sms": timedelta(-1)}}]
)
def test_bad_policies_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidValueError):
        DeadlinePolicy(**kwargs)  # type: ignore[arg-type]
