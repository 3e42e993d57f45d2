"""`helm lint --strict` through Helm's own library, on the defaults and every values case."""

from __future__ import annotations

import helm_python as helm
import pytest

from tests.charts.manifests import CASES, CHART, load_values

WARNING = 2


@pytest.mark.parametrize("case", CASES)
def test_the_chart_lints_clean_in_strict_mode(case: str) -> None:
    report = helm.lint(CHART, load_values(case), strict=True, namespace="optin")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= WARNING] == []


def test_lint_applies_the_values_schema() -> None:
    """A CloudNativePG cluster without a backup destination is refused before anything renders."""
    report = helm.lint(CHART, {"database": {"mode": "cnpg"}}, strict=True)
    assert any("destinationPath" in error for error in report["errors"])
