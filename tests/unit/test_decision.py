"""The one consent decision and the send policy built on it: given events, then the answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from eventsourcing.domain import Aggregate

from ledger.channel_optout import open_channel_optout
from ledger.consent import Evidence, open_consent
from ledger.contact import register_contact
from ledger.decision import ConsentDecision, decide_at
from ledger.message import Basis
from ledger.program import new_program
from ledger.send_policy import Refusal, permit, purpose_of, still_allowed
from ledger.vocabulary import Actor, Purpose

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STAFF = Actor(kind="user", id="u-1")
CONTACT_ID = uuid.uuid4()
WEB = Evidence(actor=Actor(kind="contact"), source="web", verification_id=uuid.uuid4())
STOP = Evidence(actor=Actor(kind="contact"), source="sms_keyword", keyword="STOP")


class World:
    """One contact, one program and their streams; every event gets the next position, a minute apart."""

    def __init__(self) -> None:
        self.program = new_program(
            name="Offers", description="", purpose="marketing", channels=("sms",), disclosure="d", actor=STAFF
        )
        self.contact = register_contact(CONTACT_ID, channel="sms", sealed_address=b"x", actor=STAFF)
        self.consent = open_consent(CONTACT_ID, self.program.id, "sms")
        self.channel = open_channel_optout(CONTACT_ID, "sms")
        self.history: list[tuple[int, datetime, object]] = []
        self.record(self.program, self.contact)

    def record(self, *aggregates: Aggregate) -> int:
        for aggregate in aggregates:
            for event in aggregate.collect_events():
                n = len(self.history) + 1
                self.history.append((n, T0 + timedelta(minutes=n), event))
        return len(self.history)

    def at(self, position: int) -> datetime:
        return T0 + timedelta(minutes=position)

    def now(self) -> ConsentDecision:
        return decide_at(self.history)

    def requested(self) -> int:
        self.consent.request("opt_in", WEB.verification_id or uuid.uuid4(), WEB)
        return self.record(self.consent)

    def granted(self) -> int:
        self.consent.grant(WEB)
        return self.record(self.consent)

    def stopped(self) -> int:
        self.channel.opt_out([], STOP)
        return self.record(self.channel)


def test_nothing_asked_is_unknown_and_names_no_event() -> None:
    assert World().now() == ConsentDecision("unknown")


def test_a_request_is_pending_then_the_code_opts_in() -> None:
    world = World()
    asked = world.requested()
    assert world.now() == ConsentDecision("pending", world.at(asked), asked, "consent.requested")
    granted = world.granted()
    assert world.now() == ConsentDecision("opted_in", world.at(granted), granted, "consent.granted")


def test_a_lapsed_request_leaves_the_status_it_found() -> None:
    world = World()
    world.requested()
    world.consent.lapse(world.consent.pending or uuid.uuid4())
    lapsed = world.record(world.consent)
    assert world.now() == ConsentDecision("unknown", world.at(lapsed), lapsed, "consent.lapsed")
    granted = world.granted()
    world.consent.request("opt_out", uuid.uuid4(), WEB)
    world.record(world.consent)
    world.consent.lapse(world.consent.pending or uuid.uuid4())
    world.record(world.consent)
    assert world.now() == ConsentDecision("opted_in", world.at(granted), granted, "consent.granted")


def test_stop_from_a_contact_who_never_answered_is_an_opt_out_now_and_as_of_after_it() -> None:
    """The scenario of issue 12: live and `as_of` must agree."""
    world = World()
    stopped = world.stopped()
    expected = ConsentDecision("opted_out", world.at(stopped), stopped, "channel.opted_out")
    assert world.now() == expected
    assert decide_at(world.history, world.at(stopped) + timedelta(seconds=1)) == expected
    assert decide_at(world.history, world.at(stopped) - timedelta(seconds=1)) == ConsentDecision("unknown")


def test_an_opt_in_after_the_channel_opt_out_wins_one_before_it_does_not() -> None:
    world = World()
    world.requested()
    world.granted()
    stopped = world.stopped()
    assert world.now().topic == "channel.opted_out"
    world.consent.request("opt_in", uuid.uuid4(), WEB)
    world.record(world.consent)
    assert world.now() == ConsentDecision("opted_out", world.at(stopped), stopped, "channel.opted_out")
    granted = world.granted()
    assert world.now() == ConsentDecision("opted_in", world.at(granted), granted, "consent.granted")


def test_resubscribing_lifts_the_channel_opt_out_and_leaves_the_programs_own_state() -> None:
    world = World()
    world.stopped()
    world.channel.resubscribe(STOP)
    world.record(world.channel)
    assert world.now() == ConsentDecision("unknown")


def test_archival_and_erasure_end_any_consent_erasure_first() -> None:
    world = World()
    world.requested()
    world.granted()
    world.program.archive(STAFF)
    archived = world.record(world.program)
    assert world.now() == ConsentDecision("unknown", world.at(archived), archived, "optin.archived")
    world.contact.erase(STAFF)
    erased = world.record(world.contact)
    assert world.now() == ConsentDecision("unknown", world.at(erased), erased, "contact.erased")
    assert decide_at(world.history, world.at(archived - 1)).status == "opted_in"


def test_events_of_several_streams_are_taken_in_ledger_order_whatever_order_they_come_in() -> None:
    world = World()
    world.requested()
    world.granted()
    world.stopped()
    assert decide_at(reversed(world.history)) == world.now()


def _allowed(purpose: str, decision: ConsentDecision) -> bool:
    return isinstance(permit(purpose, decision), Basis)  # type: ignore[arg-type]


def test_marketing_needs_opted_in_transactional_needs_no_opt_out() -> None:
    opted_in = ConsentDecision("opted_in", T0, 7, "consent.granted")
    assert permit("marketing", opted_in) == Basis(
        rule="marketing_consent", consent_position=7, consent_topic="consent.granted"
    )
    assert permit("marketing", ConsentDecision("unknown")) == Refusal(reason="no_consent")
    assert permit("marketing", ConsentDecision("pending", T0, 3, "consent.requested")) == Refusal(
        reason="consent_pending", position=3
    )
    withdrawn = ConsentDecision("opted_out", T0, 4, "consent.withdrawn")
    stopped = ConsentDecision("opted_out", T0, 9, "channel.opted_out")
    purposes: tuple[Purpose, ...] = ("marketing", "transactional")
    for purpose in purposes:
        assert permit(purpose, withdrawn) == Refusal(reason="opted_out", position=4)
        assert permit(purpose, stopped) == Refusal(reason="channel_opted_out", position=9)
    assert _allowed("transactional", ConsentDecision("unknown"))
    assert permit("transactional", ConsentDecision("unknown", T0, 5, "optin.archived")) == Refusal(
        reason="program_archived", position=5
    )
    assert permit("transactional", ConsentDecision("unknown", T0, 6, "contact.erased")) == Refusal(
        reason="contact_erased", position=6
    )
    assert purpose_of("transactional", "transactional") == "transactional"
    assert purpose_of("transactional", "marketing") == "marketing"
    assert purpose_of("promotional", "transactional") == "marketing"


def test_codes_reach_an_unsubscribed_email_address_but_not_a_number_after_stop() -> None:
    stopped = ConsentDecision("opted_out", T0, 9, "channel.opted_out")
    code = Basis(rule="verification", verification_id=uuid.uuid4())
    assert still_allowed("transactional", "email", code, stopped) is None
    assert still_allowed("transactional", "sms", code, stopped) == Refusal(
        reason="channel_opted_out", position=9
    )
    reply = Basis(rule="keyword_reply", inbound_id="SM1")
    assert still_allowed("transactional", "sms", reply, stopped) is None


def test_the_aggregate_and_the_decision_move_the_status_alike() -> None:
    world = World()
    seen = []
    for step in (world.requested, world.granted, world.requested, world.granted):
        step()
        seen.append((world.consent.status, world.now().status))
    world.consent.withdraw(STOP)
    world.record(world.consent)
    seen.append((world.consent.status, world.now().status))
    assert seen == [(s, s) for s in ("pending", "opted_in", "opted_in", "opted_in", "opted_out")]
