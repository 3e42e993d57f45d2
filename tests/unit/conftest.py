"""Unit tests run in seconds without a database: one that asks for PostgreSQL stops the run."""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent
_DATABASE = "admin_dsn"  # every PostgreSQL fixture in tests/conftest.py depends on this one


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    offenders = [
        item.nodeid
        for item in items
        if item.path.is_relative_to(_HERE)
        and (item.get_closest_marker("integration") or _DATABASE in getattr(item, "fixturenames", ()))
    ]
    if offenders:
        raise pytest.UsageError(
            "tests/unit must not need PostgreSQL (move these to tests/integration): " + ", ".join(offenders)
        )
