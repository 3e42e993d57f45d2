"""Retention: erase contacts nobody may message and nobody has touched for a long time, close
codes that expired without an answer (their pending consent requests lapse with them), and forget
rate-limit hits that no window counts any more."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from ledger.application.contacts import ContactRegistry
from ledger.consent import Consent, consent_id
from ledger.errors import ConflictError, NotFoundError
from ledger.ports import Clock
from ledger.repository import Repository
from ledger.verification import Verification
from ledger.vocabulary import SYSTEM

Finder = Callable[[datetime, int], Awaitable[list[UUID]]]
Forget = Callable[[], Awaitable[int]]


@dataclass(slots=True)
class RetentionReport:
    erased: list[UUID] = field(default_factory=list)
    expired_codes: list[UUID] = field(default_factory=list)
    forgotten_hits: int = 0
    dry_run: bool = False


class Retention:
    def __init__(
        self,
        repository: Repository,
        registry: ContactRegistry,
        clock: Clock,
        *,
        idle_contacts: Finder,
        stale_codes: Finder,
        forget_old_hits: Forget | None = None,
    ) -> None:
        """`forget_old_hits`: delete rate-limit hits older than every window; how many."""
        self.repository = repository
        self.registry = registry
        self.clock = clock
        self.idle_contacts = idle_contacts
        self.stale_codes = stale_codes
        self.forget_old_hits = forget_old_hits

    async def run(self, keep_for: timedelta, *, dry_run: bool = False, limit: int = 1000) -> RetentionReport:
        now = self.clock.now()
        report = RetentionReport(dry_run=dry_run)
        report.erased = await self.idle_contacts(now - keep_for, limit)
        report.expired_codes = await self.stale_codes(now, limit)
        if dry_run:
            return report
        for contact_id in list(report.erased):
            try:
                await self.registry.erase(contact_id, SYSTEM)
            except (NotFoundError, ConflictError):  # erased meanwhile, or active again: skip it
                report.erased.remove(contact_id)
        for verification_id in list(report.expired_codes):
            if not await self._expire(verification_id, now):
                report.expired_codes.remove(verification_id)
        if self.forget_old_hits is not None:
            report.forgotten_hits = await self.forget_old_hits()
        return report

    async def _expire(self, verification_id: UUID, now: datetime) -> bool:
        verification = await self.repository.get(Verification, verification_id)
        verification.expire(now)
        changed: list[Verification | Consent] = [verification]
        if verification.optin_id is not None and verification.expired:  # a live code's request stays
            consent = await self.repository.find(
                Consent, consent_id(verification.contact_id, verification.optin_id, verification.channel)
            )
            if consent is not None:
                consent.lapse(verification_id)
                changed.append(consent)
        try:
            await self.repository.save(*changed)
        except ConflictError:
            return False
        return bool(verification.expired)
