"""Limits on sending codes: resends per contact and per client, and SMS-pumping defences.

Public code requests cost money per SMS and are a favourite target of SMS pumping (fraudsters
request codes to premium numbers they share revenue on). So besides per-address and per-IP
sliding windows, SMS goes only to allowed countries and to numbers that can receive a code
(`ledger/number_types.py`), and hourly caps hold per destination prefix and overall. Every refusal
is recorded as an event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal
from uuid import UUID

import phonenumbers

from ledger.address import Address
from ledger.code_refusal import CodeRefusal
from ledger.errors import InvalidValueError, RateLimitedError
from ledger.number_types import refusal_text, refused_number_type
from ledger.ports import RateLimiter
from ledger.repository import Repository

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Limits:
    per_address: int = 5
    per_client: int = 20
    per_contact: int = 10
    sms_countries: frozenset[str] = field(default_factory=lambda: frozenset({"US"}))
    sms_per_prefix: int = 30
    sms_total: int = 1000
    window: timedelta = HOUR


def country_and_prefix(address: Address) -> tuple[str | None, str | None]:
    """ISO region and a coarse prefix (country code and the next three digits) of a phone number."""
    if address.channel != "sms":
        return None, None
    number = phonenumbers.parse(address.value)
    region = phonenumbers.region_code_for_number(number)
    code = str(number.country_code)
    return region, "+" + code + str(number.national_number)[:3]


CodeObserver = Callable[[Literal["public", "staff"], str | None], None]
"""Told of every code request: who asked, and the refusal reason (None: allowed). For metrics."""


def _unobserved(kind: Literal["public", "staff"], refusal: str | None) -> None:
    return None


class Guardrails:
    def __init__(
        self,
        limiter: RateLimiter,
        repository: Repository,
        limits: Limits,
        observe: CodeObserver = _unobserved,
    ) -> None:
        self.limiter = limiter
        self.repository = repository
        self.limits = limits
        self.observe = observe

    async def public_code(self, address: Address, address_index: bytes, client_index: bytes | None) -> None:
        """May this anonymous request send a code? Raises (and records why) when not."""
        country, prefix = country_and_prefix(address)
        if address.channel == "sms" and country not in self.limits.sms_countries:
            await self._refuse("country_not_allowed", address, country, prefix)
            raise InvalidValueError("text messages are not sent to numbers in that country")
        kind = refused_number_type(address.value) if address.channel == "sms" else None
        if kind is not None:
            await self._refuse(f"number_type_{kind}", address, country, prefix)
            raise InvalidValueError(refusal_text(kind))
        checks = [
            (f"code:address:{address_index.hex()[:32]}", self.limits.per_address, "too_many_for_address"),
        ]
        if client_index is not None:
            checks.append(
                (f"code:client:{client_index.hex()[:32]}", self.limits.per_client, "too_many_for_client")
            )
        if address.channel == "sms":
            checks.append((f"code:prefix:{prefix}", self.limits.sms_per_prefix, "prefix_cap"))
            checks.append(("code:sms:total", self.limits.sms_total, "sms_total_cap"))
        for bucket, limit, reason in checks:
            wait = await self.limiter.hit(bucket, limit, self.limits.window)
            if wait is not None:
                await self._refuse(reason, address, country, prefix)
                raise RateLimitedError("too many code requests; try again later", wait)
        self.observe("public", None)

    async def staff_code(self, contact_id: UUID) -> None:
        """Staff and applications may not flood one contact with codes either."""
        wait = await self.limiter.hit(
            f"code:contact:{contact_id}", self.limits.per_contact, self.limits.window
        )
        self.observe("staff", None if wait is None else "too_many_for_contact")
        if wait is not None:
            raise RateLimitedError("too many codes sent to this contact; try again later", wait)

    async def _refuse(self, reason: str, address: Address, country: str | None, prefix: str | None) -> None:
        self.observe("public", reason)
        await self.repository.save(
            CodeRefusal(reason=reason, channel=address.channel, country=country, prefix=prefix)
        )
