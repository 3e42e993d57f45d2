"""`bench command` drives the whole write path over HTTP without a single failed request."""

from __future__ import annotations

import pytest

from adapters.settings import Settings
from api.bench.command import run

pytestmark = pytest.mark.integration


async def test_bench_command_runs_full_flows_without_errors(settings: Settings) -> None:
    result = await run(settings, seconds=1.5, connections=4, rounds=2)
    assert result["errors"] == 0, result
    assert result["flows_per_s"] > 0
    assert result["writes_per_s"] >= 4 * result["flows_per_s"] * 0.9  # four writes per flow
    assert result["baseline_insert_per_s"] > 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["rounds"] == 2 and len(result["ratios_by_round"]) == 2
    # The work left behind is reported for each round, and was caught up within the limit.
    assert len(result["projections_behind_events"]) == 2
    assert all(0 <= s < 120 for s in result["catch_up_s"]), result["catch_up_s"]
    # The goal's figure: consent checks of the contacts just opted in, on the same server.
    assert result["check_errors"] == 0, result
    assert result["check_per_s"] > 0
    assert len(result["ratios_vs_check_by_round"]) == 2
    assert result["ratio_vs_check"] == pytest.approx(
        sorted(result["ratios_vs_check_by_round"])[0] / 2 + sorted(result["ratios_vs_check_by_round"])[1] / 2,
        abs=0.01,
    )
    # CPU per request of each part (microseconds): the server (this process), the database on
    # this machine, the load client; a write does more than a bare INSERT or a check.
    for key in ("cpu_us_per_write", "cpu_us_per_insert", "cpu_us_per_check"):
        cpu = result[key]
        assert cpu["this_process"] > 0 and cpu["postgres"] > 0 and cpu["children"] > 0, (key, cpu)
    assert result["cpu_us_per_write"]["this_process"] > result["cpu_us_per_check"]["this_process"]
