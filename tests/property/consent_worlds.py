"""The two worlds the consent state machine runs in: in memory (unit time) and on PostgreSQL.

Both wire the same use cases on the same ports; they differ in the event store, the keys and the
address book, and in the read model: PostgreSQL runs the real consent projection, memory runs
the projection's own pure `fold_batch` into dictionaries. Each answers a consent read the way
the API does: the read model's facts, decided by `ledger.decision.decide`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID

import asyncpg

from adapters.crypto.codes import HmacCodes
from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.memory.address_book import InMemoryAddressBook
from adapters.memory.clock import ManualClock
from adapters.memory.data_keys import InMemoryDataKeys
from adapters.memory.event_store import InMemoryEventStore
from adapters.memory.rate_limits import InMemoryRateLimiter
from adapters.postgres.address_book import PostgresAddressBook
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.pool import create_pool
from api.auth.unsubscribe_tokens import UnsubscribeTokens
from ledger.application.channel_preferences import ChannelPreferences
from ledger.application.consent import ConsentFlows
from ledger.application.contacts import ContactRegistry
from ledger.application.guardrails import Guardrails, Limits
from ledger.application.inbound_sms import InboundSms
from ledger.application.messaging import Messaging
from ledger.application.unsubscribe import Unsubscribe
from ledger.composer import Composer
from ledger.decision import BEARING_TOPICS, ConsentDecision, ConsentFacts, Mark, decide
from ledger.keywords import Keywords
from ledger.ports import EventStore
from ledger.repository import Repository
from projections import consent_state
from projections.consent_state import ConsentStateProjection, FactChanges, Key, fold_batch, touched
from projections.projection import Envelope
from projections.runner import ProjectionRunner
from tests.conftest import INDEX_KEY, KEK

Check = tuple[UUID, UUID, str]


class Clock:
    """The wall clock, pushed forward by the machine (codes expire); PostgreSQL records real time."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


class RememberingCodes(HmacCodes):
    """Real codes, remembered so the machine can play the contact who received them."""

    def __init__(self, key: bytes) -> None:
        super().__init__(key)
        self.sent: dict[uuid.UUID, str] = {}

    def hash(self, verification_id: uuid.UUID, code: str) -> bytes:
        self.sent.setdefault(verification_id, code)
        return super().hash(verification_id, code)


class World(Protocol):
    store: EventStore
    repository: Repository
    registry: ContactRegistry
    flows: ConsentFlows
    codes: RememberingCodes
    inbound: InboundSms
    unsubscribe: Unsubscribe
    preferences: ChannelPreferences
    messaging: Messaging
    program_ids: list[UUID]

    def now(self) -> datetime:
        """The instant just after everything recorded so far (for `as_of` snapshots)."""
        ...

    def advance(self, delta: timedelta) -> None: ...

    async def read(self, checks: Sequence[Check]) -> list[ConsentDecision]:
        """The read model's answers (caught up first), one by one."""
        ...

    async def bulk(self, checks: Sequence[Check]) -> list[ConsentDecision]:
        """The read model's answers in one bulk check."""
        ...

    async def close(self) -> None: ...


class _Wiring:
    """The use cases on a store, keys and address book (shared by both worlds)."""

    def wire(self, store: EventStore, registry_parts: tuple[object, object], clock: object) -> None:
        self.store = store
        self.repository = Repository(store)
        keys, book = registry_parts
        sealer = NaclSealer(INDEX_KEY)
        self.registry = ContactRegistry(self.repository, keys, book, sealer)  # type: ignore[arg-type]
        self.codes = RememberingCodes(bytes(32))
        self.flows = ConsentFlows(self.repository, self.registry, self.codes, clock)  # type: ignore[arg-type]
        composer = Composer(self.repository, sealer, UnsubscribeTokens(bytes(32), "https://ledger.test"))
        self.preferences = ChannelPreferences(self.repository, self.programs)
        self.inbound = InboundSms(self.registry, self.preferences, composer, Keywords())
        self.unsubscribe = Unsubscribe(self.registry, self.preferences)
        guardrails = Guardrails(InMemoryRateLimiter(ManualClock()), self.repository, Limits())
        self.messaging = Messaging(composer, self.flows, guardrails)
        self.program_ids: list[UUID] = []

    async def programs(self) -> list[UUID]:
        return list(self.program_ids)


class MemoryWorld(_Wiring):
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.wire(InMemoryEventStore(self.clock), (InMemoryDataKeys(), InMemoryAddressBook()), self.clock)
        self.model = _MemoryReadModel(self.store)

    def now(self) -> datetime:
        instant = self.clock.now()
        self.clock.advance(timedelta(milliseconds=1))  # what comes next is recorded after it
        return instant

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    async def read(self, checks: Sequence[Check]) -> list[ConsentDecision]:
        await self.model.catch_up()
        return [self.model.decision(*check) for check in checks]

    async def bulk(self, checks: Sequence[Check]) -> list[ConsentDecision]:
        await self.model.catch_up()
        return [self.model.decision(*check) for check in list(checks)]

    async def close(self) -> None:
        return None


class _MemoryReadModel:
    """The consent projection's `fold_batch` into dictionaries: the read model without SQL."""

    def __init__(self, store: EventStore) -> None:
        self.store, self.position = store, 0
        self.rows: dict[Key, tuple[ConsentFacts, int]] = {}
        self.outs: dict[tuple[UUID, str], Mark] = {}
        self.archived: dict[UUID, Mark] = {}
        self.erased: dict[UUID, Mark] = {}
        self.mapper = Repository(store).mapper

    async def catch_up(self) -> None:
        recorded = await self.store.read_after(self.position, 100_000)
        batch = [
            Envelope(r.notification_id, r.recorded_at, r.topic, self.mapper.to_domain_event(r.stored()))
            for r in recorded
            if r.topic in BEARING_TOPICS
        ]
        stored = {k: v for k, v in self.rows.items() if k in touched(batch)}
        self._apply(fold_batch(stored, batch))
        if recorded:
            self.position = recorded[-1].notification_id

    def _apply(self, changes: FactChanges) -> None:
        for gone, mark in changes.erased.items():
            self.rows = {k: v for k, v in self.rows.items() if k[0] != gone}
            self.outs = {k: v for k, v in self.outs.items() if k[0] != gone}
            self.erased.setdefault(gone, mark)
        self.rows.update(changes.rows)
        for key, out in changes.outs.items():
            if out is None:
                self.outs.pop(key, None)
            else:
                self.outs[key] = out
        for program, position, at in changes.archived:
            self.archived.setdefault(program, Mark(position, at))

    def decision(self, contact: UUID, program: UUID, channel: str) -> ConsentDecision:
        facts = self.rows.get((contact, program, channel), (ConsentFacts(), 0))[0]
        return decide(
            facts._replace(
                channel_out=self.outs.get((contact, channel)),
                archived=self.archived.get(program),
                erased=self.erased.get(contact),
            )
        )


class PostgresWorld(_Wiring):
    async def start(self, dsn: str) -> PostgresWorld:
        self.clock = Clock()
        self.pool: asyncpg.Pool = await create_pool(dsn, role="optin_app", min_size=1, max_size=4)
        self.pg_store = PostgresEventStore(self.pool)
        parts = (PostgresDataKeys(self.pool, KEK), PostgresAddressBook(self.pool))
        self.wire(self.pg_store, parts, self.clock)
        self.runner = ProjectionRunner(self.pool, [ConsentStateProjection()])
        return self

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)

    async def _caught_up(self) -> None:
        await self.runner.catch_up(next(iter(self.runner.projections.values())))

    async def read(self, checks: Sequence[Check]) -> list[ConsentDecision]:
        await self._caught_up()
        return [await consent_state.consent_of(self.pool, *check) for check in checks]

    async def bulk(self, checks: Sequence[Check]) -> list[ConsentDecision]:
        await self._caught_up()
        rows = await consent_state.check_many(
            self.pool,
            [c[0] for c in checks],
            [None] * len(checks),
            [c[1] for c in checks],
            [c[2] for c in checks],
        )
        return rows.decisions

    async def close(self) -> None:
        await self.pg_store.close()
        await self.pool.close()
