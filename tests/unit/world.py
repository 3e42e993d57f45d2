"""An in-memory world for unit tests: store, repository, registry and flows on a manual clock.

No database and no network: everything runs on `adapters.memory`, with real sealing and real
code hashing (both pure computation). `given` and `then` are the two ends of an aggregate test.
"""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from adapters.crypto.codes import HmacCodes
from adapters.crypto.sealer import NaclSealer
from adapters.memory.address_book import InMemoryAddressBook
from adapters.memory.clock import ManualClock
from adapters.memory.data_keys import InMemoryDataKeys
from adapters.memory.erasure_log import InMemoryErasureLog
from adapters.memory.event_store import InMemoryEventStore
from adapters.memory.rate_limits import InMemoryRateLimiter
from ledger.address import Address, normalise
from ledger.application.consent import Client, ConsentFlows
from ledger.application.contacts import ContactRegistry
from ledger.codec import LedgerMapper
from ledger.consent import Consent, consent_id
from ledger.program import Program, new_program
from ledger.repository import Repository
from ledger.vocabulary import Actor, Channel, Purpose
from tests import pii

STAFF = Actor(kind="user", id="staff-1")
NOBODY = Client()
A = TypeVar("A", bound=Aggregate)
_MAPPER = LedgerMapper()


def given(aggregate: A) -> A:
    """The aggregate rebuilt from its pending events, each stored and read back through the mapper."""
    rebuilt: Any = None
    for change in aggregate.collect_events():
        rebuilt = _MAPPER.to_domain_event(_MAPPER.to_stored_event(change)).mutate(rebuilt)  # type: ignore[attr-defined]
    assert isinstance(rebuilt, type(aggregate))
    return rebuilt


def then(aggregate: Aggregate) -> list[str]:
    """The topics of the events the command recorded (and takes them off the aggregate)."""
    return [type(e).TOPIC for e in aggregate.collect_events()]  # type: ignore[attr-defined]


class RememberingCodes(HmacCodes):
    """Real codes, remembered so a test can play the contact who received them."""

    def __init__(self) -> None:
        super().__init__(bytes(32))
        self.sent: dict[UUID, str] = {}

    def hash(self, verification_id: UUID, code: str) -> bytes:
        self.sent.setdefault(verification_id, code)
        return super().hash(verification_id, code)


class World:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.store = InMemoryEventStore(self.clock)
        self.repository = Repository(self.store)
        self.keys = InMemoryDataKeys()
        self.book = InMemoryAddressBook()
        self.erasures = InMemoryErasureLog()
        self.limiter = InMemoryRateLimiter(self.clock)
        self.sealer = NaclSealer(bytes(range(32)))
        self.codes = RememberingCodes()
        self.registry = ContactRegistry(self.repository, self.keys, self.book, self.sealer, self.erasures)
        self.flows = ConsentFlows(self.repository, self.registry, self.codes, self.clock)

    async def program(
        self, channels: tuple[Channel, ...] = ("email", "sms"), purpose: Purpose = "marketing"
    ) -> Program:
        program = new_program(
            name="Weekly offers", description="", purpose=purpose, channels=channels,
            disclosure="You agree to weekly offers.", actor=STAFF,
        )  # fmt: skip
        await self.repository.save(program)
        return program

    async def contact(self, channel: Channel = "email") -> UUID:
        return (await self.registry.register(self.address(channel), STAFF)).contact_id

    def address(self, channel: Channel = "email") -> Address:
        return normalise(channel, pii.email() if channel == "email" else pii.phone())

    async def opted_in(self, contact_id: UUID, program: Program) -> None:
        asked = await self.flows.request(contact_id, program.id, "opt_in", STAFF, NOBODY)
        assert asked.verification_id is not None
        await self.flows.confirm(asked.verification_id, self.code(asked.verification_id), NOBODY)

    def code(self, verification_id: UUID) -> str:
        return self.codes.sent[verification_id]

    async def consent(self, contact_id: UUID, program: Program, channel: Channel = "email") -> Consent:
        return await self.repository.get(Consent, consent_id(contact_id, program.id, channel))

    async def topics_after(self, position: int) -> list[str]:
        """The topics of every event recorded after `position`, in ledger order."""
        return [r.topic for r in await self.store.read_after(position, 10_000)]

    async def programs(self) -> list[UUID]:
        """Every program id (the read model's job in production)."""
        return [r.originator_id for r in await self.store.read_after(0, 10_000) if r.topic == "optin.created"]
