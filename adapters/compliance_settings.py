"""Compliance settings (quiet hours, opt-out deadlines, revocation review), from the environment.

| setting | meaning (default) |
|---|---|
| `OPTIN_QUIET_HOURS` | the local sending window for marketing SMS (`08:00-21:00`; `off`: none) |
| `OPTIN_QUIET_HOURS_PROGRAMS` | per-program windows: `<optin_id>=10:00-18:00,<optin_id>=…` (none) |
| `OPTIN_QUIET_HOURS_EXEMPT` | purposes sent at any hour: `transactional`, `none` (`transactional`) |
| `OPTIN_QUIET_HOURS_FALLBACK_ZONE` | zone for numbers whose zones share no hour of the window (`UTC`) |
| `OPTIN_OPTOUT_COUNTRY` · `OPTIN_OPTOUT_ZONE` | business days' holidays and zone (`US`, `America/New_York`) |
| `OPTIN_OPTOUT_TARGET_HOURS_EMAIL` · `…_SMS` | time to honour an opt-out, in the legal bound (`0`: at once) |
| `OPTIN_REVOCATION_REVIEW_HOURS` | time staff have to decide a doubtful reply, in the legal bound (`24`) |
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta

import msgspec

from ledger.errors import InvalidValueError
from ledger.optout_deadline import DeadlinePolicy
from ledger.quiet_hours import QuietHours, SendingWindow
from ledger.vocabulary import Purpose


class ComplianceSettings(msgspec.Struct, frozen=True, kw_only=True):
    quiet_hours: str = "08:00-21:00"
    quiet_hours_programs: tuple[tuple[str, str], ...] = ()
    quiet_hours_exempt: tuple[str, ...] = ("transactional",)
    quiet_hours_fallback_zone: str = "UTC"
    optout_country: str = "US"
    optout_zone: str = "America/New_York"
    optout_target_hours_email: float = 0.0
    optout_target_hours_sms: float = 0.0
    review_hours: float = 24.0

    def quiet_hours_policy(self) -> QuietHours | None:
        if self.quiet_hours.strip().lower() == "off":
            return None
        exempt: frozenset[Purpose] = frozenset({"transactional"} & set(self.quiet_hours_exempt))  # type: ignore[arg-type]
        return QuietHours(
            default=SendingWindow.parse(self.quiet_hours),
            programs={uuid.UUID(k): SendingWindow.parse(v) for k, v in self.quiet_hours_programs},
            exempt=exempt,
            fallback_zone=self.quiet_hours_fallback_zone,
        )

    def deadline_policy(self) -> DeadlinePolicy:
        return DeadlinePolicy(
            targets={
                "email": timedelta(hours=self.optout_target_hours_email),
                "sms": timedelta(hours=self.optout_target_hours_sms),
            },
            country=self.optout_country,
            zone=self.optout_zone,
        )

    @property
    def review_time(self) -> timedelta:
        return timedelta(hours=self.review_hours)


def load_compliance(env: Mapping[str, str]) -> ComplianceSettings:
    """The settings, checked (`ValueError` naming what is wrong)."""
    programs: list[tuple[str, str]] = []
    for item in (env.get("OPTIN_QUIET_HOURS_PROGRAMS") or "").split(","):
        if item.strip():
            key, sep, window = item.partition("=")
            if not sep:
                raise ValueError("OPTIN_QUIET_HOURS_PROGRAMS looks like <optin_id>=10:00-18:00,…")
            programs.append((key.strip(), window.strip()))
    exempt = (env.get("OPTIN_QUIET_HOURS_EXEMPT") or "transactional").strip().lower()
    try:
        settings = ComplianceSettings(
            quiet_hours=env.get("OPTIN_QUIET_HOURS") or "08:00-21:00",
            quiet_hours_programs=tuple(programs),
            quiet_hours_exempt=() if exempt == "none" else tuple(p.strip() for p in exempt.split(",")),
            quiet_hours_fallback_zone=env.get("OPTIN_QUIET_HOURS_FALLBACK_ZONE") or "UTC",
            optout_country=(env.get("OPTIN_OPTOUT_COUNTRY") or "US").upper(),
            optout_zone=env.get("OPTIN_OPTOUT_ZONE") or "America/New_York",
            optout_target_hours_email=float(env.get("OPTIN_OPTOUT_TARGET_HOURS_EMAIL") or 0),
            optout_target_hours_sms=float(env.get("OPTIN_OPTOUT_TARGET_HOURS_SMS") or 0),
            review_hours=float(env.get("OPTIN_REVOCATION_REVIEW_HOURS") or 24),
        )
        settings.quiet_hours_policy()
        settings.deadline_policy()
    except (ValueError, InvalidValueError) as e:
        raise ValueError(f"compliance settings: {e}") from None
    return settings
