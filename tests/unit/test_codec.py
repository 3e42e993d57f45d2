"""The mapper: stable topics, typed round trips, upcasting, refusal of module-path topics."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event

from ledger.codec import LedgerMapper, TopicError
from ledger.program import Program, new_program
from ledger.vocabulary import Actor


def test_round_trip_preserves_every_field_and_type() -> None:
    mapper = LedgerMapper()
    p = new_program(
        name="N",
        description="D",
        purpose="transactional",
        channels=("sms",),
        disclosure="Text",
        actor=Actor(kind="api_key", id="k1", correlation_id="c1"),
    )
    p.rename("M", Actor(kind="user", id="u1"))
    originals = p.collect_events()
    stored = [mapper.to_stored_event(e) for e in originals]
    assert [s.topic for s in stored] == ["optin.created", "optin.renamed"]
    decoded = [mapper.to_domain_event(s) for s in stored]
    assert decoded == originals
    assert isinstance(decoded[0], Program.Created)
    assert decoded[0].actor == Actor(kind="api_key", id="k1", correlation_id="c1")


def test_module_path_topics_are_refused() -> None:
    class Unnamed(Aggregate):
        @event("Made")
        def __init__(self, x: int) -> None:
            self.x = x

    with pytest.raises(TopicError):
        LedgerMapper().to_stored_event(Unnamed(x=1).collect_events()[0])


class Versioned(Aggregate):
    TOPIC = "test.versioned"

    class Created(Aggregate.Created):
        TOPIC = "test.versioned.created"
        class_version = 2
        colour: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["colour"] = "unknown"

    @event(Created)
    def __init__(self, colour: str) -> None:
        self.colour = colour


def test_old_event_versions_are_upcast_on_read() -> None:
    mapper = LedgerMapper()
    stored = mapper.to_stored_event(Versioned(colour="red").collect_events()[0])
    old_state = stored.state.replace(b',"colour":"red"', b"").replace(b',"class_version":2', b"")
    old = type(stored)(stored.originator_id, 1, stored.topic, old_state)
    decoded = mapper.to_domain_event(old)
    assert decoded.colour == "unknown"  # type: ignore[attr-defined]
