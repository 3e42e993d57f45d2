"""Pool sizes and the statement cache are settings: the chart's connection budget counts on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.settings import SettingsError, load_settings


def test_unset_each_command_keeps_its_own_sizes_and_the_cache_is_on(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    assert settings.pool_size(2, 20) == (2, 20)
    assert settings.pool_size(1, 8) == (1, 8)
    assert settings.db_statement_cache == 100


def test_the_settings_win_and_a_minimum_above_the_maximum_is_lowered(tmp_path: Path) -> None:
    env = {"OPTIN_DB_POOL_MIN": "4", "OPTIN_DB_POOL_MAX": "3", "OPTIN_DB_STATEMENT_CACHE": "0"}
    settings = load_settings(env, data_dir=tmp_path)
    assert settings.pool_size(2, 20) == (3, 3)
    assert settings.db_statement_cache == 0
    assert load_settings({"OPTIN_DB_POOL_MIN": "0"}, data_dir=tmp_path).pool_size(2, 20) == (0, 20)


@pytest.mark.parametrize(
    ("name", "value"),
    [("OPTIN_DB_POOL_MAX", "0"), ("OPTIN_DB_POOL_MIN", "-1"), ("OPTIN_DB_STATEMENT_CACHE", "many")],
)
def test_nonsense_is_refused_by_name(name: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value}, data_dir=tmp_path)
