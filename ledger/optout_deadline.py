"""When an opt-out must be honoured: a due time per opt-out, immediate by default, never later
than the law allows.

The outer bound is the legal maximum per channel, counted in business days (weekends and public
holidays of the configured country, from the `holidays` package) from the day the opt-out was
received, in the business's own time zone. The bounds chosen (United States law, 2025):

- email: CAN-SPAM Act, 15 U.S.C. 7704(a)(4)(A), and 16 CFR 316.5: an opt-out request must be
  honoured no more than 10 business days after it is received;
- sms: the TCPA as read by the FCC's 2024 revocation order (FCC 24-24, 47 CFR 64.1200(a)(10), in
  force since 11 April 2025): a revocation made by any reasonable means must be honoured within a
  reasonable time, not more than 10 business days from receipt.

The service honours opt-outs at once (the target is zero); a deployment may set a longer target
per channel, but the due time is never past the legal bound. The deadline of "10 business days"
ends when the 10th business day after the day of receipt ends (midnight local time).

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from ledger.errors import InvalidValueError
from ledger.vocabulary import Channel

__all__ = ["LEGAL_BOUNDS", "DeadlinePolicy", "LegalBound", "add_business_days"]


@dataclass(frozen=True, slots=True)
class LegalBound:
    """The longest a sender may take to honour an opt-out on a channel, and the law that says so."""

    business_days: int
    law: str


LEGAL_BOUNDS: Mapping[Channel, LegalBound] = {
    "email": LegalBound(10, "CAN-SPAM Act, 15 U.S.C. 7704(a)(4)(A); 16 CFR 316.5"),
    "sms": LegalBound(10, "TCPA, FCC 24-24 (2024), 47 CFR 64.1200(a)(10), since 2025-04-11"),
}


@lru_cache(maxsize=16)
def _calendar(country: str) -> Any:
    try:
        return holidays.country_holidays(country)
    except NotImplementedError:
        raise InvalidValueError(f"no public-holiday calendar for country {country!r}") from None


def add_business_days(start: date, days: int, country: str) -> date:
    """The `days`-th business day after `start` (weekends and `country`'s public holidays skipped)."""
    calendar = _calendar(country)
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in calendar:
            left -= 1
    return day


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    """A deployment's opt-out deadlines: a target per channel (zero: at once) within the legal bound."""

    targets: Mapping[Channel, timedelta] = field(default_factory=dict)
    country: str = "US"
    zone: str = "America/New_York"
    bounds: Mapping[Channel, LegalBound] = field(default_factory=lambda: dict(LEGAL_BOUNDS))

    def __post_init__(self) -> None:
        _calendar(self.country)
        try:
            ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidValueError(f"unknown time zone {self.zone!r}") from None
        if any(t < timedelta(0) for t in self.targets.values()):
            raise InvalidValueError("an opt-out target cannot be negative")

    def legal_limit(self, channel: Channel, received_at: datetime) -> datetime:
        """The end of the last business day the law allows for an opt-out received at `received_at`."""
        zone = ZoneInfo(self.zone)
        received = received_at.astimezone(zone).date()
        last = add_business_days(received, self.bounds[channel].business_days, self.country)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
        return end.astimezone(UTC)

    def due(self, channel: Channel, received_at: datetime) -> datetime:
        """When no message may follow this opt-out any more: the target, capped by the legal limit."""
        target = received_at.astimezone(UTC) + self.targets.get(channel, timedelta(0))
        return min(target, self.legal_limit(channel, received_at))
