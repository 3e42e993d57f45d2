"""One chunk of an import: from checked rows to the events that apply them (nothing saved here).

Every row is decided on the ledger's own events for its (contact, program, channel), folded by
`ledger.decision` together with what earlier rows of the same chunk planned, so two rows about
one consent in one chunk behave as if they were applied one after the other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple
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


class Registered(NamedTuple):
    """Contacts of a chunk's addresses (by blind index), as `ImportStore.register` answers."""

    ids: dict[bytes, UUID]
    created: set[UUID]
    """Contacts claimed just now, each with a new random id: no event can name them yet."""
    keys: dict[UUID, bytes]


@dataclass(slots=True)
class Prepared:
    """What deciding a chunk needs from the database, read (and claimed) in few round trips."""

    rows: Sequence[ImportRow]
    ids: list[UUID | None]
    created: set[UUID]
    keys: dict[UUID, bytes]
    recorded: Histories


class _Deciding:
    """One chunk being decided: the streams its rows touched, the contacts it registered, its plan."""

    def __init__(self, planner: ChunkPlanner, prepared: Prepared, dry_run: bool) -> None:
        self.planner, self.prepared, self.dry_run = planner, prepared, dry_run
        self.plan = Plan()
        self.decoded: dict[UUID, History] = {}
        self.streams: dict[tuple[UUID, UUID, str], _Stream] = {}
        self.registered: set[UUID] = set()
        self.planned = _PLANNED

    def history_of(self, stream: UUID) -> History:
        if stream not in self.decoded:
            decode = self.planner.mapper.to_domain_event
            self.decoded[stream] = [
                (r.notification_id, r.recorded_at, decode(r.stored()))
                for r in self.prepared.recorded.get(stream, [])
            ]
        return self.decoded[stream]

    def row(self, row: ImportRow, contact_id: UUID | None) -> None:
        if contact_id is None:  # a dry run meeting an address not known yet
            self.plan.outcomes[row.status] += 1
            return
        new = contact_id in self.prepared.created  # no event names it: nothing to read back
        named = (contact_id, row.optin_id, row.channel)
        stream = self.streams.get(named)
        if stream is None:
            history = [] if new else self.history_of(consent_id(*named))
            stream = self.streams[named] = self.planner.stream(history)
        bearing = stream.history + self.planner.programs[row.optin_id]
        if not new:
            bearing += self.history_of(channel_optout_id(contact_id, row.channel))
            bearing += self.history_of(contact_id)
        key = row_key(contact_id, row.optin_id, row.channel, row.status, row.when)
        outcome = _outcome(row, stream, bearing, key)
        self.plan.outcomes[outcome] += 1
        if outcome in ("opted_in", "opted_out") and not self.dry_run:
            # A new contact, or one a crashed import claimed but never registered.
            unregistered = new or not self.history_of(contact_id)
            self._record(row, contact_id, stream, key, register=unregistered)

    def _record(
        self, row: ImportRow, contact_id: UUID, stream: _Stream, key: UUID, *, register: bool
    ) -> None:
        """The row's events: the contact's registration (once), the consent stream, the change."""
        planner, data_key = self.planner, self.prepared.keys[contact_id]
        if register and contact_id not in self.registered:
            sealed = planner.sealer.seal(data_key, row.address.value)
            contact = register_contact(
                contact_id, channel=row.channel, sealed_address=sealed, actor=planner.actor
            )
            self.plan.aggregates.append(contact)
            self.registered.add(contact_id)
        if stream.consent is None:
            stream.consent = open_consent(contact_id, row.optin_id, row.channel)
            self.plan.aggregates.append(stream.consent)
        evidence = planner.evidence(row, data_key, key)
        before = len(stream.consent.pending_events)
        (stream.consent.grant if row.status == "opted_in" else stream.consent.withdraw)(evidence)
        now = datetime.now(UTC)
        for event in stream.consent.pending_events[before:]:
            self.planned += 1
            stream.history.append((self.planned, now, event))
        stream.keys.add(key)


class ChunkPlanner:
    def __init__(
        self, batch: Any, sealer: Sealer, mapper: LedgerMapper, actor: Actor, import_id: UUID
    ) -> None:
        self.batch = batch
        self.sealer = sealer
        self.mapper = mapper
        self.actor = actor
        self.import_id = import_id
        self.programs: dict[UUID, History] = {}

    async def plan(self, rows: Sequence[ImportRow], dry_run: bool) -> Plan:
        return self.decide(await self.prepare(rows, dry_run), dry_run)

    async def prepare(self, rows: Sequence[ImportRow], dry_run: bool) -> Prepared:
        """The chunk's contacts (claimed for new ones, with their data keys: one round trip) and
        the history of the streams that may have one: those of contacts that existed before."""
        indexes = [self.sealer.blind_index(r.address.value) for r in rows]
        unique = list(dict.fromkeys(indexes))
        if dry_run:  # nothing is written, not even a claim
            found, created, keys = await self.batch.contacts(unique), set(), {}
        else:
            found, created, keys = await self.batch.register(unique)
        ids = [found.get(i) for i in indexes]
        old = {c for c in ids if c is not None and c not in created}
        streams: set[UUID] = set(old)
        for row, contact_id in zip(rows, ids, strict=True):
            if contact_id in old:
                streams.add(consent_id(contact_id, row.optin_id, row.channel))
                streams.add(channel_optout_id(contact_id, row.channel))
        recorded: Histories = await self.batch.histories(list(streams)) if streams else {}
        await self._load_programs({r.optin_id for r in rows})
        return Prepared(rows, ids, created, keys, recorded)

    def decide(self, prepared: Prepared, dry_run: bool) -> Plan:
        """Every row decided in file order on its streams' history and what earlier rows of the
        chunk planned (pure: nothing is read or written here)."""
        deciding = _Deciding(self, prepared, dry_run)
        for row, contact_id in zip(prepared.rows, prepared.ids, strict=True):
            deciding.row(row, contact_id)
        return deciding.plan

    def stream(self, history: History) -> _Stream:
        consent = None
        keys: set[UUID] = set()
        for _, _, event in history:
            consent = event.mutate(consent)  # type: ignore[attr-defined]
            imported = getattr(getattr(event, "evidence", None), "imported", None)
            if imported is not None:
                keys.add(imported.row_key)
        return _Stream(list(history), consent, keys)

    def evidence(self, row: ImportRow, key: bytes, row_id: UUID) -> Evidence:
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
        wanted = sorted(optin_ids - set(self.programs))
        if not wanted:
            return
        recorded = await self.batch.histories(wanted)
        for optin_id in wanted:
            self.programs[optin_id] = [
                (r.notification_id, r.recorded_at, self.mapper.to_domain_event(r.stored()))
                for r in recorded.get(optin_id, [])
            ]


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
