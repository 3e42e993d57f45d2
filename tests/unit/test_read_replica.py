"""The read replica's settings, and how far behind the primary its read models are judged to be."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from adapters.postgres.replica_lag import ReplicaLag
from adapters.settings import SettingsError, load_settings

PRIMARY = "postgresql://app@db-rw:5432/optin"
REPLICA = "postgresql://app@db-ro:5432/optin"


def test_no_read_url_no_replica_and_the_bounds_have_defaults(tmp_path: Path) -> None:
    assert load_settings({"DATABASE_URL": PRIMARY}, data_dir=tmp_path).read_replica is None
    replica = load_settings(
        {"DATABASE_URL": PRIMARY, "DATABASE_READ_URL": REPLICA}, data_dir=tmp_path
    ).read_replica
    assert replica is not None
    assert (replica.url, replica.wait_seconds, replica.max_lag_seconds) == (REPLICA, 1.0, 2.0)


def test_the_bounds_are_settings(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": PRIMARY,
        "DATABASE_READ_URL": REPLICA,
        "OPTIN_READ_REPLICA_WAIT_SECONDS": "0.25",
        "OPTIN_READ_REPLICA_MAX_LAG_SECONDS": "10",
    }
    replica = load_settings(env, data_dir=tmp_path).read_replica
    assert replica is not None and (replica.wait_seconds, replica.max_lag_seconds) == (0.25, 10.0)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATABASE_READ_URL": REPLICA}, "DATABASE_READ_URL needs DATABASE_URL"),
        ({"DATABASE_URL": PRIMARY, "DATABASE_READ_URL": "db-ro:5432"}, "DATABASE_READ_URL must be"),
        (
            {
                "DATABASE_URL": PRIMARY,
                "DATABASE_READ_URL": REPLICA,
                "OPTIN_READ_REPLICA_WAIT_SECONDS": "soon",
            },
            "OPTIN_READ_REPLICA_WAIT_SECONDS",
        ),
        (
            {
                "DATABASE_URL": PRIMARY,
                "DATABASE_READ_URL": REPLICA,
                "OPTIN_READ_REPLICA_MAX_LAG_SECONDS": "-1",
            },
            "OPTIN_READ_REPLICA_MAX_LAG_SECONDS",
        ),
    ],
)
def test_nonsense_is_refused_by_name(env: dict[str, str], named: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env, data_dir=tmp_path)


def test_a_replica_at_or_past_the_last_sample_is_not_behind() -> None:
    lag = ReplicaLag()
    lag.primary_at(10.0, 100)
    assert lag.behind(10.2, 100) == 0.0
    assert lag.behind(10.2, 105) == 0.0  # the primary moved on after its sample: still fresh


def test_behind_by_the_age_of_the_newest_sample_it_has() -> None:
    lag = ReplicaLag()
    for second, position in enumerate((100, 120, 150, 190)):
        lag.primary_at(float(second), position)
    assert lag.behind(3.5, 150) == 1.5  # has what the primary had at second 2
    assert lag.behind(3.5, 149) == 2.5  # only what it had at second 1
    assert lag.behind(3.5, 99) == math.inf  # less than anything kept: unknown, so too far


def test_old_samples_are_dropped() -> None:
    lag = ReplicaLag(keep_seconds=5.0)
    lag.primary_at(0.0, 10)
    lag.primary_at(6.0, 20)
    assert lag.behind(6.5, 10) == math.inf
    assert lag.behind(6.5, 20) == 0.0
