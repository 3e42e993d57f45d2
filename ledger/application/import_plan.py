"""One chunk of an import: from checked rows to the events that apply them (nothing saved here).

Every row is decided on the ledger's own events for its (contact, program, channel), folded by
`ledger.decision` together with what earlier rows of the same chunk planned, so two rows about
one consent in one chunk behave as if they were applied one after the other.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from ledger.channel_optout import channel_optout_id
from ledger.codec import LedgerMapper
from ledger.consent import Consent, Evidence, consent_id, open_consent
from ledger.contact import register_contact
from ledger.decision import decide_at
from ledger.import_provenance import Imported, row_key
from ledger.import_rows import ImportRow
from ledger.ports import RecordedEvent, Sealer
from ledger.vocabulary import Actor

Outcome = Literal["opted_in", "opted_out", "unchanged", "superseded", "channel_opted_out", "already_imported"]
Histories = dict[UUID, list[RecordedEvent]]
History = list[tuple[int, datetime, object]]
_PLANNED = 1 << 62  # positions of events planned in this chunk: after everything recorded


@dataclass(slots=True)
class Plan:
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    aggregates: list[Aggregate] = field(default_factory=list)


@dataclass(slots=True)
class _Stream:
    """A consent stream as the chunk sees it: recorded history, planned events, applied row keys."""

    history: History
    consent: Consent | None
    keys: set[UUID]


class ChunkPlanner:
    def __init__(
        self, batch: Any, sealer: Sealer, mapper: LedgerMapper, actor: Actor, import_id: UUID
    ) -> None:
        self.batch = batch
        self.sealer = sealer
        self.mapper = mapper
        self.actor = actor
        self.import_id = import_id
        self._programs: dict[UUID, History] = {}

    async def plan(self, rows: Sequence[ImportRow], dry_run: bool) -> Plan:
        indexes = [self.sealer.blind_index(r.address.value) for r in rows]
        found = await self.batch.contacts(list(dict.fromkeys(indexes)))
        created: set[UUID] = set()
        missing = [i for i in dict.fromkeys(indexes) if i not in found]
        if missing and not dry_run:
            claims = [(i, uuid.uuid4()) for i in missing]
            bound = await self.batch.claim(claims)
            found.update(bound)
            created = {cid for i, cid in claims if bound.get(i) == cid}
        ids = [found.get(i) for i in indexes]
        known = list({c for c in ids if c is not None})
        keys: dict[UUID, bytes] = {} if dry_run else await self.batch.keys(known, sorted(created))
        # Each row's consent and channel opt-out streams, computed once (uuid5 is not free).
        named: list[tuple[UUID, UUID] | None] = [
            None
            if cid is None
            else (consent_id(cid, row.optin_id, row.channel), channel_optout_id(cid, row.channel))
            for row, cid in zip(rows, ids, strict=True)
        ]
        # A contact claimed just now has a new random id: no event can name it yet.
        streams = {s for n, c in zip(named, ids, strict=True) if n and c not in created for s in n}
        streams |= set(known) - created
        recorded: dict[UUID, list[RecordedEvent]] = (
            await self.batch.histories(list(streams)) if streams else {}
        )
        await self._load_programs({r.optin_id for r in rows})
        return self._decide(rows, ids, named, keys, recorded, dry_run)

    def _decide(
        self,
        rows: Sequence[ImportRow],
        ids: list[UUID | None],
        named: list[tuple[UUID, UUID] | None],
        keys: dict[UUID, bytes],
        recorded: dict[UUID, list[RecordedEvent]],
        dry_run: bool,
    ) -> Plan:
        plan = Plan()
        decoded: dict[UUID, History] = {}
        streams: dict[UUID, _Stream] = {}
        registered: set[UUID] = set()
        planned = _PLANNED

        def history_of(stream: UUID) -> History:
            if stream not in decoded:
                decoded[stream] = [
                    (r.notification_id, r.recorded_at, self.mapper.to_domain_event(r.stored()))
                    for r in recorded.get(stream, [])
                ]
            return decoded[stream]

        for row, contact_id, pair in zip(rows, ids, named, strict=True):
            if contact_id is None or pair is None:  # a dry run meeting an address not known yet
                plan.outcomes[row.status] += 1
                continue
            cid, channel_stream = pair
            stream = streams.get(cid) or streams.setdefault(cid, self._stream(history_of(cid)))
            bearing = stream.history + history_of(channel_stream)
            bearing += history_of(contact_id) + self._programs[row.optin_id]
            key = row_key(contact_id, row.optin_id, row.channel, row.status, row.when)
            outcome = self._outcome(row, stream, bearing, key)
            plan.outcomes[outcome] += 1
            if outcome not in ("opted_in", "opted_out") or dry_run:
                continue
            if not history_of(contact_id) and contact_id not in registered:  # new (or a claim left half way)
                sealed = self.sealer.seal(keys[contact_id], row.address.value)
                plan.aggregates.append(
                    register_contact(contact_id, channel=row.channel, sealed_address=sealed, actor=self.actor)
                )
                registered.add(contact_id)
            if stream.consent is None:
                stream.consent = open_consent(contact_id, row.optin_id, row.channel)
                plan.aggregates.append(stream.consent)
            evidence = self._evidence(row, keys[contact_id], key)
            before = len(stream.consent.pending_events)
            (stream.consent.grant if row.status == "opted_in" else stream.consent.withdraw)(evidence)
            now = datetime.now(UTC)
            for event in stream.consent.pending_events[before:]:
                planned += 1
                stream.history.append((planned, now, event))
            assert evidence.imported is not None
            stream.keys.add(evidence.imported.row_key)
        return plan

    def _stream(self, history: History) -> _Stream:
        consent = None
        keys: set[UUID] = set()
        for _, _, event in history:
            consent = event.mutate(consent)  # type: ignore[attr-defined]
            imported = getattr(getattr(event, "evidence", None), "imported", None)
            if imported is not None:
                keys.add(imported.row_key)
        return _Stream(list(history), consent, keys)

    @staticmethod
    def _outcome(row: ImportRow, stream: _Stream, bearing: History, key: UUID) -> Outcome:
        if key in stream.keys:
            return "already_imported"
        decision = decide_at(bearing)
        target = row.status
        if decision.status == target:
            return "unchanged"
        if target == "opted_out":
            return "opted_out"  # an opt-out takes effect at once, whatever came before
        if decision.topic == "channel.opted_out":
            return "channel_opted_out"
        if decision.topic in ("contact.erased", "optin.archived"):
            return "superseded"
        if decision.since is not None and decision.status != "unknown" and row.when < decision.since:
            return "superseded"
        return "opted_in"

    def _evidence(self, row: ImportRow, key: bytes, row_id: UUID) -> Evidence:
        statement = msgspec.json.encode({"source": row.source, "evidence": row.evidence}).decode()
        imported = Imported(
            import_id=self.import_id,
            line=row.line,
            row_key=row_id,
            stated_at=row.when,
            sealed_statement=self.sealer.seal(key, statement),
        )
        return Evidence(actor=self.actor, source="import", imported=imported)

    async def _load_programs(self, optin_ids: set[UUID]) -> None:
        wanted = sorted(optin_ids - set(self._programs))
        if not wanted:
            return
        recorded = await self.batch.histories(wanted)
        for optin_id in wanted:
            self._programs[optin_id] = [
                (r.notification_id, r.recorded_at, self.mapper.to_domain_event(r.stored()))
                for r in recorded.get(optin_id, [])
            ]
