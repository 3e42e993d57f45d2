"""`bench replay`: the rebuild and its bare-fold baseline take turns over the same events."""

from __future__ import annotations

import pytest

from api.bench.replay import run

pytestmark = pytest.mark.integration


async def test_the_rebuild_and_the_bare_fold_each_cover_every_event(database_url: str) -> None:
    result = await run(database_url, 500, "optin_app", rounds=2)
    assert result["events"] == 500
    assert result["applied"] == 500  # the last rebuild, whole
    assert result["bare_folded"] == 500  # the last baseline, whole
    assert result["read_model_rows"] == 100  # five events a program
    assert result["rounds"] == 2
    assert len(result["ratios_by_round"]) == 2
    assert result["events_per_s"] > 0
    assert result["bare_fold_per_s"] > 0
    assert result["ratio_vs_bare"] == pytest.approx(
        sorted(result["ratios_by_round"])[0] / 2 + sorted(result["ratios_by_round"])[1] / 2, abs=0.01
    )
