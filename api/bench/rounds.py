"""Baseline and service in alternating rounds, compared round by round.

On a shared machine the free CPU and the disk's flush time change within seconds, so a baseline
measured once, always first, flatters or sinks whichever part ran in the quieter moment. Here the
two take turns (baseline first in even rounds, the service first in odd ones), each round's ratio
compares two parts measured next to each other, and the figure reported is the median of those
ratios. `bench append` does the same with its own rounds.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from typing import Any

Result = dict[str, Any]
Part = Callable[[], Awaitable[Result]]


async def alternate(
    rounds: int, baseline: Part, service: Part
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(baseline result, service result) for each of `rounds` rounds, in alternating order."""
    pairs: list[tuple[Result, Result]] = []
    for n in range(max(rounds, 1)):
        if n % 2 == 0:
            base = await baseline()
            served = await service()
        else:
            served = await service()
            base = await baseline()
        pairs.append((base, served))
    return pairs


def compare(pairs: list[tuple[Result, Result]]) -> Result:
    """Medians of the parts' rates and latencies, and of the per-round ratios (rate and p99)."""
    ratios = [s["per_s"] / b["per_s"] for b, s in pairs]
    p99_ratios = [s["p99_ms"] / b["p99_ms"] for b, s in pairs]

    def median(part: int, key: str) -> float:
        return round(float(statistics.median(pair[part][key] for pair in pairs)), 3)

    return {
        "rounds": len(pairs),
        "per_s": median(1, "per_s"),
        "p50_ms": median(1, "p50_ms"),
        "p99_ms": median(1, "p99_ms"),
        "baseline_per_s": median(0, "per_s"),
        "baseline_p50_ms": median(0, "p50_ms"),
        "baseline_p99_ms": median(0, "p99_ms"),
        "ratio": round(statistics.median(ratios), 3),
        "p99_ratio": round(statistics.median(p99_ratios), 2),
        "ratios_by_round": [round(r, 2) for r in ratios],
        "p99_ratios_by_round": [round(r, 2) for r in p99_ratios],
        "errors": sum(b.get("errors", 0) + s.get("errors", 0) for b, s in pairs),
    }
