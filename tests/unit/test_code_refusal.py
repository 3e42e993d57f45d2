"""A refused code request is recorded with the destination's prefix, never its number."""

from __future__ import annotations

from ledger.code_refusal import CodeRefusal
from tests.unit.world import given, then


def test_a_refusal_records_why_and_the_prefix() -> None:
    refusal = CodeRefusal(reason="prefix_cap", channel="sms", country="US", prefix="+1415")
    [change] = refusal.collect_events()
    assert isinstance(change, CodeRefusal.Created)
    assert change.TOPIC == "verification.refused"
    assert (change.reason, change.country, change.prefix) == ("prefix_cap", "US", "+1415")


def test_a_refusal_replays_from_its_event() -> None:
    refusal = given(CodeRefusal(reason="country_not_allowed", channel="sms", country="GB", prefix="+44791"))
    assert refusal.reason == "country_not_allowed"
    assert then(refusal) == []
