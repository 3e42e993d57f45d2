"""A hypothesis state machine over everything that bears on consent, with one rule checked five ways.

Steps: staff requests and the contact's right or wrong codes, self-service changes, staff
opt-outs, SMS STOP, START and HELP, one-click unsubscribes (one program or all email), program
archival, erasure, sends, and time passing (codes expire). After every step, for every
(contact, program, channel):

    read model = fold of the ledger = as_of(now) = bulk check = an independent model of the rule,

`as_of` at earlier instants equals what the model said then, every send was decided as the send
policy says for that decision, and nothing is opted in without the contact's own proof. It runs
in memory in unit time, and on PostgreSQL (the real projection) once.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.address import Address, normalise
from ledger.application.consent import Client
from ledger.application.messaging import SendRequest
from ledger.consent import Consent
from ledger.decision import bearing_streams, decide_at
from ledger.errors import DomainError
from ledger.program import Program, new_program
from ledger.send_policy import Refusal, consent_now, permit, purpose_of
from ledger.verification import CODE_TTL, MAX_ATTEMPTS, Verification
from ledger.vocabulary import Action, Actor, Channel, ConsentStatus, Purpose
from tests import pii
from tests.property.consent_worlds import MemoryWorld, PostgresWorld, World

STAFF = Actor(kind="user", id="machine")
APP = Actor(kind="api_key", id="machine-key")
NOBODY = Client()
CONTACTS = (0, 1)  # 0 has an email address, 1 a phone number
PROGRAMS = (0, 1)  # 0 is marketing, 1 transactional; both on email and SMS
PURPOSES: tuple[Purpose, ...] = ("marketing", "transactional")
contacts, programs = st.sampled_from(CONTACTS), st.sampled_from(PROGRAMS)
actions = st.sampled_from(["opt_in", "opt_out"])


@dataclass
class Key:
    """The model of one (contact, program, channel): its consent stream and pending code."""

    status: ConsentStatus = "unknown"
    decided: int = 0  # the model's clock when a grant or withdrawal last decided it
    code: UUID | None = None
    action: str | None = None
    issued: datetime | None = None
    failures: int = 0


def _keys() -> dict[tuple[int, int], Key]:
    return {(c, p): Key() for c in CONTACTS for p in PROGRAMS}


@dataclass
class Model:
    """An independent model of the consent rule (deliberately not ledger/decision.py)."""

    keys: dict[tuple[int, int], Key] = field(default_factory=_keys)
    out: dict[int, int | None] = field(default_factory=lambda: dict.fromkeys(CONTACTS))
    withdrawn_by_out: dict[int, list[int]] = field(default_factory=lambda: {c: [] for c in CONTACTS})
    archived: set[int] = field(default_factory=set)
    erased: set[int] = field(default_factory=set)
    tick: int = 0

    def decided(self, key: tuple[int, int], status: ConsentStatus) -> None:
        self.tick += 1
        self.keys[key] = Key(status=status, decided=self.tick)

    def status(self, who: int, program: int) -> ConsentStatus:
        if who in self.erased or program in self.archived:
            return "unknown"
        key, out = self.keys[(who, program)], self.out[who]
        if out is not None and not (key.status == "opted_in" and key.decided > out):
            return "opted_out"
        return key.status

    def channel_out(self, who: int) -> None:
        """STOP or "unsubscribe from all": opted-in and pending programs are withdrawn."""
        if self.out[who] is not None:
            return
        taken = [p for p in PROGRAMS if self.keys[(who, p)].status == "opted_in"]
        for p in PROGRAMS:
            if self.keys[(who, p)].status in ("opted_in", "pending"):
                self.decided((who, p), "opted_out")
        self.tick += 1
        self.out[who], self.withdrawn_by_out[who] = self.tick, taken

    def start(self, who: int) -> None:
        """START: what STOP took comes back (programs still running), and waiting invites are
        confirmed by the reply."""
        regranted = []
        if self.out[who] is not None:
            for p in self.withdrawn_by_out[who]:
                if self.keys[(who, p)].status == "opted_out" and p not in self.archived:
                    self.decided((who, p), "opted_in")
                    regranted.append(p)
            self.out[who], self.withdrawn_by_out[who] = None, []
        for p in PROGRAMS:
            key = self.keys[(who, p)]
            if key.status == "pending" and key.action == "opt_in" and p not in regranted:
                self.decided((who, p), "opted_in")


class ConsentMachine(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.model = Model()
        self.history: list[tuple[datetime, dict[tuple[int, int], ConsentStatus]]] = []
        self.self_verified: dict[int, UUID] = {}
        self.sid = 0

    def make_world(self) -> World:
        raise NotImplementedError

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize()
    def start(self) -> None:
        self.world = self.make_world()
        self.programs: list[Program] = []
        for n, purpose in enumerate(PURPOSES):
            program = new_program(
                name=f"P{n}", description="", purpose=purpose, channels=("email", "sms"), disclosure="d",
                actor=STAFF,
            )  # fmt: skip
            self.run(self.world.repository.save(program))
            self.programs.append(program)
            self.world.program_ids.append(program.id)
        self.addresses: list[Address] = [normalise("email", pii.email()), normalise("sms", pii.phone())]
        self.contacts = [self.run(self.world.registry.register(a, STAFF)).contact_id for a in self.addresses]
        self._remember()

    def teardown(self) -> None:
        if hasattr(self, "world"):
            self.run(self.world.close())
        self.loop.close()

    def channel(self, who: int) -> Channel:
        return self.addresses[who].channel

    def _remember(self) -> None:
        statuses = {k: self.model.status(*k) for k in self.model.keys}
        self.history.append((self.world.now(), statuses))

    def _live(self, who: int, program: int | None = None) -> bool:
        return who not in self.model.erased and (program is None or program not in self.model.archived)

    # -- staff and applications --------------------------------------------------------------

    @rule(who=contacts, program=programs, action=actions)
    def request(self, who: int, program: int, action: Action) -> None:
        flows = self.world.flows
        asking = flows.request(self.contacts[who], self.programs[program].id, action, STAFF, NOBODY)
        if not self._live(who, program):
            with pytest.raises(DomainError):
                self.run(asking)
            return
        result = self.run(asking)
        key = self.model.keys[(who, program)]
        key.code, key.action, key.issued, key.failures = result.verification_id, action, flows.clock.now(), 0
        if key.status == "unknown":
            key.status = "pending"
        self._remember()

    @rule(who=contacts, program=programs, right=st.booleans())
    def confirm(self, who: int, program: int, right: bool) -> None:
        key = self.model.keys[(who, program)]
        if key.code is None or not self._live(who):
            return
        given = self.world.codes.sent[key.code] if right else "x" * 6
        with contextlib.suppress(DomainError):
            self.run(self.world.flows.confirm(key.code, given, NOBODY))
        assert key.issued is not None
        expired = self.world.flows.clock.now() >= key.issued + CODE_TTL
        if expired or (not right and key.failures + 1 >= MAX_ATTEMPTS):
            key.code = None
            if key.status == "pending":
                key.status = "unknown"
        elif right:
            self.model.decided((who, program), "opted_in" if key.action == "opt_in" else "opted_out")
        else:
            key.failures += 1
        self._remember()

    @rule(who=contacts, program=programs)
    def staff_opt_out(self, who: int, program: int) -> None:
        flows = self.world.flows
        recording = flows.record_opt_out(
            self.contacts[who], self.programs[program].id, "by phone", STAFF, NOBODY
        )
        if not self._live(who):
            with pytest.raises(DomainError):
                self.run(recording)
            return
        self.run(recording)
        self.model.decided((who, program), "opted_out")
        self._remember()

    @rule(program=programs)
    def archive(self, program: int) -> None:
        archive = self.world.repository.update(Program, self.programs[program].id, lambda p: p.archive(STAFF))
        self.run(archive)
        self.model.archived.add(program)
        self._remember()

    @precondition(lambda self: len(self.model.erased) < len(CONTACTS))
    @rule(who=contacts)
    def erase(self, who: int) -> None:
        if who in self.model.erased:
            return
        self.run(self.world.registry.erase(self.contacts[who], STAFF))
        self.model.erased.add(who)
        self._remember()

    @rule(who=contacts, program=programs, kind=st.sampled_from(["promotional", "transactional"]))
    def send(self, who: int, program: int, kind: str) -> None:
        if not self._live(who):
            return
        target = (self.contacts[who], self.programs[program].id, self.channel(who))
        variables = {"message": "Hi", "subject": "Hi"}
        request = SendRequest(target[0], target[1], kind=kind, variables=variables)  # type: ignore[arg-type]
        outcome = self.run(self.world.messaging.send(request, APP))
        (decision,) = self.run(self.world.read([target]))
        expected = permit(purpose_of(kind, self.programs[program].purpose), decision)  # type: ignore[arg-type]
        if isinstance(expected, Refusal):
            assert (outcome.status, outcome.reason) == ("blocked", expected.reason), (outcome, decision)
        else:
            assert outcome.status == "queued", (outcome, decision)

    # -- the contact ---------------------------------------------------------------------------

    @rule(who=contacts)
    def verify_self(self, who: int) -> None:
        if not self._live(who):
            return
        started = self.run(self.world.flows.start_self_service(self.contacts[who]))
        vid = started.verification_id
        self.run(self.world.flows.confirm_self_service(self.contacts[who], vid, self.world.codes.sent[vid]))
        self.self_verified[who] = vid

    @precondition(lambda self: bool(self.self_verified))
    @rule(who=contacts, program=programs, action=actions)
    def set_own(self, who: int, program: int, action: Action) -> None:
        if who not in self.self_verified or not self._live(who, program):
            return
        contact, vid = self.contacts[who], self.self_verified[who]
        self.run(self.world.flows.set_own(contact, vid, self.programs[program].id, action, NOBODY))
        target: ConsentStatus = "opted_in" if action == "opt_in" else "opted_out"
        if self.model.keys[(who, program)].status != target:
            self.model.decided((who, program), target)
        self._remember()

    @rule(family=st.sampled_from(["STOP", "START", "HELP"]))
    def texts(self, family: str) -> None:
        if not self._live(1):
            return
        self.sid += 1
        self.run(
            self.world.inbound.receive(self.addresses[1], family, f"SM{self.sid}-{self.contacts[1].hex}")
        )
        if family == "STOP":
            self.model.channel_out(1)
        elif family == "START":
            self.model.start(1)
        self._remember()

    @rule(program=st.sampled_from((*PROGRAMS, None)))
    def unsubscribe(self, program: int | None) -> None:
        if not self._live(0):
            return
        if program is None:
            self.run(self.world.unsubscribe.from_everything(self.contacts[0], NOBODY))
            self.model.channel_out(0)
        else:
            self.run(self.world.unsubscribe.from_program(self.contacts[0], self.programs[program].id, NOBODY))
            if self.model.keys[(0, program)].status != "opted_out":
                self.model.decided((0, program), "opted_out")
        self._remember()

    @rule(minutes=st.integers(1, 12))
    def time_passes(self, minutes: int) -> None:
        self.world.advance(timedelta(minutes=minutes))

    # -- what must hold after every step -------------------------------------------------------

    @invariant()
    def one_decision_everywhere(self) -> None:
        if hasattr(self, "world"):
            self.run(self._one_decision())

    async def _one_decision(self) -> None:
        world, mapper = self.world, self.world.repository.mapper
        keys = [(who, p) for who in CONTACTS for p in PROGRAMS]
        checks = [(self.contacts[w], self.programs[p].id, self.channel(w)) for w, p in keys]
        read, bulk = await world.read(checks), await world.bulk(checks)
        for key, check, from_model, from_bulk in zip(keys, checks, read, bulk, strict=True):
            folded = decide_at(await self._history(*check))
            now = await consent_now(world.store, mapper, *check, world.now())
            assert from_model == folded == now == from_bulk, (key, from_model, folded, now, from_bulk)
            assert folded.status == self.model.status(*key), (key, folded, self.model)
            for at, statuses in self.history[-6:]:
                then = await consent_now(world.store, mapper, *check, at)
                assert then.status == statuses[key], (key, at, then, statuses)

    async def _history(
        self, contact: UUID, optin: UUID, channel: Channel
    ) -> list[tuple[int, datetime, object]]:
        mapper = self.world.repository.mapper
        return [
            (r.notification_id, r.recorded_at, mapper.to_domain_event(r.stored()))
            for stream in bearing_streams(contact, optin, channel)
            for r in await self.world.store.read_stream_recorded(stream)
        ]

    @invariant()
    def every_opt_in_rests_on_the_contacts_own_proof(self) -> None:
        if hasattr(self, "world"):
            self.run(self._grants_proved())

    async def _grants_proved(self) -> None:
        repository = self.world.repository
        for record in await self.world.store.read_after(0, 100_000):
            if record.topic != Consent.Granted.TOPIC:
                continue
            event = repository.mapper.to_domain_event(record.stored())
            assert isinstance(event, Consent.Granted)
            if event.evidence.source == "sms_keyword":
                continue  # the reply itself came from the number
            vid = event.evidence.verification_id
            assert vid is not None
            verification = await repository.get(Verification, vid)
            assert verification.confirmed and verification.contact_id == event.contact_id


class InMemory(ConsentMachine):
    def make_world(self) -> World:
        return MemoryWorld()


def test_one_consent_decision_in_memory() -> None:
    run_state_machine_as_test(
        InMemory,
        settings=settings(
            max_examples=60,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@pytest.mark.integration
def test_one_consent_decision_on_postgresql(database_url: str) -> None:
    class OnPostgres(ConsentMachine):
        def make_world(self) -> World:
            return self.run(PostgresWorld().start(database_url))  # type: ignore[no-any-return]

    run_state_machine_as_test(
        OnPostgres,
        settings=settings(
            max_examples=8,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
