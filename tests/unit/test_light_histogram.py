"""The append path's histogram exposes exactly what prometheus_client's Histogram does."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.light_histogram import LightHistogram

BUCKETS = (0.001, 0.01, 0.1, 1.0, 2.5)


def _without_created(text: bytes) -> str:
    return re.sub(r"(?m)^\S+_created \S+\n", "", text.decode())


@given(st.lists(st.floats(min_value=-1, max_value=10, allow_nan=False) | st.sampled_from(BUCKETS)))
def test_same_exposition_as_histogram_for_any_values(values: list[float]) -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    reference = Histogram("x_seconds", "help text", buckets=BUCKETS, registry=theirs)
    light = LightHistogram("x_seconds", "help text", BUCKETS, registry=ours)
    for value in values:
        reference.observe(value)
        light.observe(value)
    assert _without_created(generate_latest(ours)) == _without_created(generate_latest(theirs))


def test_parsed_samples_bucket_bound_inclusive_and_created() -> None:
    registry = CollectorRegistry()
    light = LightHistogram("y_events", "help", (1, 2, 4), registry=registry)
    for value in (1, 2, 3, 4, 5):
        light.observe(value)
    families = list(text_string_to_metric_families(generate_latest(registry).decode()))
    assert [f.type for f in families if f.name == "y_events"] == ["histogram"]
    samples = {(s.name, s.labels.get("le")): s.value for f in families for s in f.samples}
    assert samples[("y_events_bucket", "1.0")] == 1
    assert samples[("y_events_bucket", "2.0")] == 2
    assert samples[("y_events_bucket", "4.0")] == 4
    assert samples[("y_events_bucket", "+Inf")] == 5
    assert samples[("y_events_count", None)] == 5
    assert samples[("y_events_sum", None)] == 15
    assert samples[("y_events_created", None)] > 0
