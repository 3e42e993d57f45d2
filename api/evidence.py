"""Assemble a contact's evidence bundle, and their consent receipts, from the ledger and its tree."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from email.utils import parseaddr
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from adapters.postgres.ledger_reads import events_at, streams
from adapters.postgres.transparency_log import TransparencyLog
from adapters.settings import Settings
from ledger.chain import ChainRecord
from ledger.codec import LedgerMapper
from ledger.consent import Consent
from ledger.errors import NotFoundError
from ledger.evidence import EvidenceBundle, bundle, disclosures, record_export
from ledger.merkle import event_leaf
from ledger.ports import Clock, DataKeys, RecordedEvent
from ledger.program import Program
from ledger.receipt import Controller, ProgramTerms, compact_jws, receipt_claims
from ledger.repository import Repository
from ledger.vocabulary import Actor
from projections.evidence_index import positions_of

Decoded = tuple[RecordedEvent, Any]


class Receipt(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    event: str
    jws: str
    receipt: dict[str, Any]
    """The JWS's claims, decoded (what the signature covers)."""


def controller_of(settings: Settings) -> Controller:
    return Controller(
        name=settings.sender_name,
        url=settings.public_url,
        email=parseaddr(settings.email_from)[1],
        jurisdiction=settings.default_region,
    )


class Evidence:
    """What a contact's evidence is made of, read from the ledger, proven by its tree."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        log: TransparencyLog,
        keys: DataKeys,
        controller: Controller,
        repository: Repository,
        clock: Clock,
    ) -> None:
        self.pool = pool
        self.log = log
        self.keys = keys
        self.controller = controller
        self.repository = repository
        self.clock = clock
        self.mapper = LedgerMapper()

    async def export(self, contact_id: UUID, actor: Actor) -> tuple[EvidenceBundle, int]:
        """The bundle, and the ledger position of the record of who exported it (an export is
        itself evidence)."""
        document = await self.bundle(contact_id, self.clock.now())
        size = int(document.checkpoint.split("\n")[1])
        position = await self.repository.save(record_export(contact_id, size, len(document.events), actor))
        return document, position

    async def events(self, contact_id: UUID) -> tuple[list[Decoded], list[Decoded]]:
        """The contact's events and those of the programs they name, decoded, in ledger order."""
        positions = await positions_of(self.pool, contact_id)
        if not positions:
            raise NotFoundError(f"no contact with id {contact_id}")
        own = self._decoded(await events_at(self.pool, positions))
        programs = {e.optin_id for _, e in own if isinstance(getattr(e, "optin_id", None), UUID)}
        return own, self._decoded(await streams(self.pool, programs)) if programs else []

    def _decoded(self, events: Iterable[RecordedEvent]) -> list[Decoded]:
        return [
            (e, self.mapper.decode(e.topic, e.originator_id, e.originator_version, e.state)) for e in events
        ]

    async def bundle(self, contact_id: UUID, now: datetime) -> EvidenceBundle:
        own, programs = await self.events(contact_id)
        events = sorted((r for r, _ in own + programs), key=lambda r: r.notification_id)
        checkpoint = await self.log.covering(events[-1].notification_id)
        return bundle(
            contact_id=contact_id,
            checkpoint=checkpoint,
            events=events,
            proofs=await self.log.proofs([e.notification_id for e in events], checkpoint),
            texts=disclosures((r.notification_id, e) for r, e in programs),
            data_key=await self.keys.get(contact_id),
            now=now,
        )

    def receipts(self, own: list[Decoded], programs: list[Decoded]) -> list[Receipt]:
        """A signed receipt per opt-in and opt-out among the contact's events."""
        return [
            self._receipt(recorded, change, programs)
            for recorded, change in own
            if isinstance(change, Consent.Granted | Consent.Withdrawn)
        ]

    async def receipt_at(self, position: int) -> Receipt | None:
        """The receipt of the consent event at `position` (None if it is none), read from the
        ledger itself, not a read model: a follower may ask the moment the event is recorded."""
        found = self._decoded(await events_at(self.pool, [position]))
        if not found or not isinstance(found[0][1], Consent.Granted | Consent.Withdrawn):
            return None
        recorded, change = found[0]
        return self._receipt(recorded, change, self._decoded(await streams(self.pool, [change.optin_id])))

    async def jws_at(self, position: int) -> str | None:
        """`ledger.application.consent_receipts.ReceiptIssuer`."""
        found = await self.receipt_at(position)
        return found.jws if found else None

    def _receipt(
        self, recorded: RecordedEvent, change: Consent.Granted | Consent.Withdrawn, programs: list[Decoded]
    ) -> Receipt:
        signer = self.log.signer
        terms = _terms_at(programs, change.optin_id, recorded.notification_id)
        leaf = event_leaf(ChainRecord(*recorded[:6]))
        claims = receipt_claims(
            self.controller, signer, recorded.notification_id, recorded.recorded_at, leaf, change, terms
        )
        jws = compact_jws(claims, signer)
        return Receipt(position=recorded.notification_id, event=recorded.topic, jws=jws, receipt=claims)


def _terms_at(programs: list[Decoded], optin_id: UUID, position: int) -> ProgramTerms:
    """The program's name, description and purpose as they stood at `position`."""
    name, description, purpose = str(optin_id), "", "marketing"
    for recorded, change in programs:
        if recorded.notification_id > position or recorded.originator_id != optin_id:
            continue
        if isinstance(change, Program.Created):
            name, description, purpose = change.name, change.description, change.purpose
        elif isinstance(change, Program.Renamed):
            name = change.name
        elif isinstance(change, Program.Described):
            description = change.description
    return ProgramTerms(name=name, description=description, purpose=purpose)  # type: ignore[arg-type]
