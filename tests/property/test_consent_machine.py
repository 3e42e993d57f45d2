"""A hypothesis state machine over consent: requests, right and wrong codes, staff opt-outs,
self-service changes, and time travel (codes expire). After every step, on real PostgreSQL:

- the consent projection equals a fold of the events (each aggregate loaded from the store);
- both equal an independent model of the rules, kept here;
- `as_of` at any earlier instant equals the state the model had then;
- nothing is opted in without a confirmed verification of that same contact.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from adapters.crypto.codes import HmacCodes
from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.postgres.address_book import PostgresAddressBook
from adapters.postgres.event_store import PostgresEventStore
from adapters.postgres.pool import create_pool
from ledger.address import normalise
from ledger.application.consent import Client, ConsentFlows
from ledger.application.contacts import ContactRegistry
from ledger.consent import Consent, consent_id, decision_at
from ledger.errors import DomainError
from ledger.program import new_program
from ledger.repository import Repository
from ledger.verification import CODE_TTL, MAX_ATTEMPTS, Verification
from ledger.vocabulary import Actor
from projections.consent_state import ConsentStateProjection
from projections.runner import ProjectionRunner
from tests import pii
from tests.conftest import INDEX_KEY, KEK

pytestmark = pytest.mark.integration
STAFF = Actor(kind="user", id="machine")


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class RememberingCodes(HmacCodes):
    """Real codes, remembered so the machine can play the contact who received them."""

    def __init__(self, key: bytes) -> None:
        super().__init__(key)
        self.sent: dict[uuid.UUID, str] = {}

    def hash(self, verification_id: uuid.UUID, code: str) -> bytes:
        self.sent.setdefault(verification_id, code)
        return super().hash(verification_id, code)


class Code:
    """The model of one code: whose, for what, and what has happened to it."""

    def __init__(self, vid: uuid.UUID, contact: int, issued: datetime, action: str | None) -> None:
        self.vid, self.contact, self.issued, self.action = vid, contact, issued, action
        self.failures, self.done = 0, False


class ConsentMachine(RuleBasedStateMachine):
    def __init__(self, dsn: str) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = Clock()
        self.codes = RememberingCodes(bytes(32))
        self.run(self._start(dsn))
        self.status = ["unknown", "unknown"]
        self.pending: list[Code | None] = [None, None]
        self.self_verified: list[uuid.UUID | None] = [None, None]
        self.history: list[tuple[datetime, list[str]]] = []

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _start(self, dsn: str) -> None:
        self.pool = await create_pool(dsn, role="optin_app", min_size=1, max_size=4)
        self.store = PostgresEventStore(self.pool)
        self.repo = Repository(self.store)
        registry = ContactRegistry(
            self.repo, PostgresDataKeys(self.pool, KEK), PostgresAddressBook(self.pool), NaclSealer(INDEX_KEY)
        )
        self.flows = ConsentFlows(self.repo, registry, self.codes, self.clock)
        program = new_program(
            name="P", description="", purpose="marketing", channels=("email",), disclosure="d", actor=STAFF
        )
        await self.repo.save(program)
        self.optin = program.id
        self.contacts = [
            (await registry.register(normalise("email", pii.email()), STAFF)).contact_id for _ in range(2)
        ]
        self.runner = ProjectionRunner(self.pool, [ConsentStateProjection()])

    def teardown(self) -> None:
        self.run(self.store.close())
        self.run(self.pool.close())
        self.loop.close()

    def _remember(self) -> None:
        self.history.append((datetime.now(UTC), list(self.status)))

    def _expired(self, code: Code) -> bool:
        return self.clock.now() >= code.issued + CODE_TTL

    @rule(who=st.integers(0, 1), action=st.sampled_from(["opt_in", "opt_out"]))
    def request(self, who: int, action: str) -> None:
        issued = self.clock.now()
        result = self.run(self.flows.request(self.contacts[who], self.optin, action, STAFF, Client()))  # type: ignore[arg-type]
        assert result.verification_id is not None
        self.pending[who] = Code(result.verification_id, who, issued, action)
        if self.status[who] == "unknown":
            self.status[who] = "pending"
        self._remember()

    @precondition(lambda self: any(self.pending))
    @rule(who=st.integers(0, 1), right=st.booleans())
    def confirm(self, who: int, right: bool) -> None:
        code = self.pending[who]
        if code is None:
            return
        given = self.codes.sent[code.vid] if right else "x" * 6
        with contextlib.suppress(DomainError):
            self.run(self.flows.confirm(code.vid, given, Client()))
        if code.done:
            return
        if self._expired(code) or (not right and code.failures + 1 >= MAX_ATTEMPTS):
            code.done = True
            self.pending[who] = None
            if self.status[who] == "pending":
                self.status[who] = "unknown"
        elif right:
            code.done = True
            self.pending[who] = None
            self.status[who] = "opted_in" if code.action == "opt_in" else "opted_out"
        else:
            code.failures += 1
        self._remember()

    @rule(who=st.integers(0, 1))
    def staff_opt_out(self, who: int) -> None:
        self.run(self.flows.record_opt_out(self.contacts[who], self.optin, "asked", STAFF, Client()))
        self.status[who], self.pending[who] = "opted_out", None
        self._remember()

    @rule(who=st.integers(0, 1))
    def verify_self(self, who: int) -> None:
        started = self.run(self.flows.start_self_service(self.contacts[who]))
        vid = started.verification_id
        self.run(self.flows.confirm_self_service(self.contacts[who], vid, self.codes.sent[vid]))
        self.self_verified[who] = vid
        self._remember()

    @precondition(lambda self: any(self.self_verified))
    @rule(who=st.integers(0, 1), action=st.sampled_from(["opt_in", "opt_out"]))
    def set_own(self, who: int, action: str) -> None:
        vid = self.self_verified[who]
        if vid is None:
            return
        self.run(self.flows.set_own(self.contacts[who], vid, self.optin, action, Client()))  # type: ignore[arg-type]
        self.status[who] = "opted_in" if action == "opt_in" else "opted_out"
        self.pending[who] = None
        self._remember()

    @rule(minutes=st.integers(1, 12))
    def time_passes(self, minutes: int) -> None:
        self.clock.offset += timedelta(minutes=minutes)

    @invariant()
    def read_model_fold_and_model_agree(self) -> None:
        self.run(self._check())

    async def _check(self) -> None:
        projection = next(iter(self.runner.projections.values()))
        await self.runner.catch_up(projection)
        for who, contact in enumerate(self.contacts):
            stream = consent_id(contact, self.optin, "email")
            found = await self.repo.find(Consent, stream)
            folded = found.status if found else "unknown"
            row = await self.pool.fetchrow(
                "SELECT status, event_position FROM consent_state WHERE contact_id = $1", contact
            )
            projected = row["status"] if row else "unknown"
            assert folded == projected == self.status[who], (who, folded, projected, self.status[who])
            recorded = await self.store.read_stream_recorded(stream)
            history = [
                (r.notification_id, r.recorded_at, self.repo.mapper.to_domain_event(r.stored()))
                for r in recorded
            ]
            now = decision_at(history, datetime.now(UTC))  # type: ignore[arg-type]
            assert now.status == self.status[who]
            if row:
                assert row["event_position"] == now.position
            for at, statuses in self.history:
                assert decision_at(history, at).status == statuses[who]  # type: ignore[arg-type]

    @invariant()
    def every_opt_in_rests_on_a_confirmed_code_of_that_contact(self) -> None:
        self.run(self._grants_proved())

    async def _grants_proved(self) -> None:
        for contact in self.contacts:
            stream = consent_id(contact, self.optin, "email")
            for stored in await self.store.read_stream(stream):
                event = self.repo.mapper.to_domain_event(stored)
                if isinstance(event, Consent.Granted):
                    vid = event.evidence.verification_id
                    assert vid is not None
                    verification = await self.repo.get(Verification, vid)
                    assert verification.confirmed
                    assert verification.contact_id == contact


def test_consent_state_machine(database_url: str) -> None:
    ConsentMachine.TestCase.settings = settings(
        max_examples=15,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    run_state_machine_as_test(
        lambda: ConsentMachine(database_url),  # type: ignore[arg-type]
        settings=ConsentMachine.TestCase.settings,
    )
