"""A Prometheus histogram for the append path: the same exposition, a fraction of the cost.

prometheus_client's `Histogram.observe` takes two locks and loops over the buckets in Python;
the store observes once per append call, so on the hot path that was a visible share of each
batch's turn. This one finds the bucket with `bisect` and takes one lock, and `collect` yields
what `Histogram` would (`_bucket` cumulative with `le`, `_count`, `_sum`, `_created`), so
scrapes, dashboards and alerts cannot tell them apart.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from itertools import accumulate
from threading import Lock

from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector, CollectorRegistry
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString


class LightHistogram(Collector):
    """An unlabelled histogram: `observe(value)` counts it in the first bucket whose upper bound
    is ≥ value (as `prometheus_client.Histogram` does), and adds it to the sum."""

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Sequence[float],
        registry: CollectorRegistry | None = REGISTRY,
    ) -> None:
        bounds = sorted(float(b) for b in buckets)
        if not bounds or bounds[-1] != math.inf:
            bounds.append(math.inf)
        self._name = name
        self._documentation = documentation
        self._bounds = tuple(bounds)
        self._labels: list[str] = [floatToGoString(b) for b in bounds]  # type: ignore[no-untyped-call]
        self._counts = [0] * len(bounds)
        self._sum = 0.0
        self._created = time.time()
        self._lock = Lock()  # the metrics server's thread reads while the event loop writes
        if registry is not None:
            registry.register(self)

    def observe(self, amount: float) -> None:
        index = bisect_left(self._bounds, amount)
        with self._lock:
            self._counts[index] += 1
            self._sum += amount

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self._name, self._documentation)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            counts = list(self._counts)
            total = self._sum
        family = HistogramMetricFamily(
            self._name,
            self._documentation,
            buckets=list(zip(self._labels, accumulate(counts), strict=True)),
            sum_value=total,
        )
        family.samples.append(Sample(f"{self._name}_created", {}, self._created))
        yield family
