"""Benchmark rounds: baseline and service take turns, and ratios are compared round by round."""

from __future__ import annotations

from typing import Any

from api.bench.rounds import alternate, compare


async def test_parts_take_turns_and_each_round_is_compared_with_its_own_baseline() -> None:
    order: list[str] = []
    rates = iter([100.0, 50.0, 60.0, 200.0, 100.0, 80.0])  # in the order the parts run

    def part(name: str) -> Any:
        async def run() -> dict[str, Any]:
            order.append(name)
            rate = next(rates)
            return {"per_s": rate, "p50_ms": 1000 / rate, "p99_ms": 2000 / rate, "errors": 0}

        return run

    pairs = await alternate(3, part("baseline"), part("service"))
    assert order == ["baseline", "service", "service", "baseline", "baseline", "service"]
    result = compare(pairs)
    # Rounds: 50/100, 60/200, 80/100 -> 0.5, 0.3, 0.8; the median is 0.5 (not 63.3/133.3).
    assert result["ratios_by_round"] == [0.5, 0.3, 0.8]
    assert result["ratio"] == 0.5
    assert result["p99_ratios_by_round"] == [2.0, 3.33, 1.25]
    assert result["p99_ratio"] == 2.0
    assert result["per_s"] == 60.0 and result["baseline_per_s"] == 100.0
    assert result["rounds"] == 3 and result["errors"] == 0
