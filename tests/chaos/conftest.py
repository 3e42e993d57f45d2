"""Chaos tests (each module marked `chaos`: run by `.ci/run` as a step of its own, not by
default) own a data directory whose embedded PostgreSQL never outlives them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.processes import stop_postgres


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    yield folder
    stop_postgres(folder)
