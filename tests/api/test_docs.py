"""The docs cannot drift: docs/http-api.md against the served OpenAPI schema, docs/settings.md
against every setting the code reads, docs/commands.md against the CLI; and no doc points
outside the repository; and the README's metrics table against the metrics the service defines."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

from prometheus_client import REGISTRY

import adapters.metrics  # noqa: F401 (defines and registers the service's metrics)
from api.cli import _parser
from api.openapi.reference import DOC, document

ROOT = Path(__file__).resolve().parents[2]
SETTING = re.compile(r"^(OPTIN_[A-Z0-9_]+|DATABASE_[A-Z_]+)$")
PACKAGES = ("adapters", "api", "ledger", "projections", "verifier")


def test_the_http_reference_is_the_schema_the_service_serves() -> None:
    from api.openapi.reference import current_schema

    written = DOC.read_text(encoding="utf-8")
    assert document(written, current_schema()) == written, (
        "docs/http-api.md differs from the OpenAPI schema: run `python -m api.openapi.reference`"
    )


def settings_in_code() -> set[str]:
    """Every string constant in the packages that names a setting (what the loaders read)."""
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and SETTING.match(node.value)
                ):
                    found.add(node.value)
    return found


def first_cells(path: Path) -> list[str]:
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    return [row.split("|")[1] for row in rows]


def test_the_settings_doc_names_every_setting_the_code_reads_and_no_other() -> None:
    documented = {
        name
        for cell in first_cells(ROOT / "docs" / "settings.md")
        for name in re.findall(r"`([A-Z_0-9]+)`", cell)
    }
    read = settings_in_code()
    assert "OPTIN_KEK" in read and "DATABASE_URL" in read  # the scan finds the loader's names
    assert read - documented == set(), "settings the code reads but docs/settings.md does not name"
    assert documented - read == set(), "settings docs/settings.md names but no code reads"


def cli_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every command path of the CLI that runs something (`keys rotate`, `serve`)."""
    found: set[tuple[str, ...]] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= cli_commands(sub, (*prefix, name))
    return found or {prefix}


def documented_commands() -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for cell in first_cells(ROOT / "docs" / "commands.md"):
        for span in re.findall(r"`optin-ledger ([^`]*)`", cell):
            words = []
            for word in span.split():
                if not re.fullmatch(r"[a-z][a-z-]*", word):
                    break
                words.append(word)
            found.add(tuple(words))
    return found


def test_the_commands_doc_names_every_command_of_the_cli_and_no_other() -> None:
    commands = cli_commands(_parser())
    documented = documented_commands()
    assert ("keys", "rotate") in commands and ("serve",) in commands
    # A row names a command, then its arguments (`bench append`: `append` is bench's argument).
    missing = {c for c in commands if not any(d[: len(c)] == c for d in documented)}
    unknown = {d for d in documented if not any(d[: len(c)] == c for c in commands)}
    assert missing == set(), "commands the CLI has but docs/commands.md does not name"
    assert unknown == set(), "commands docs/commands.md names but the CLI does not have"


def test_the_readme_lists_every_metric_the_service_defines() -> None:
    families = {m.name for m in REGISTRY.collect() if m.name.startswith("optin_")}  # counters: no _total
    assert "optin_append_batches_rechained" in families
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`(optin_[a-z_]+)`", readme))
    listed_families = {re.sub(r"_total$", "", n) for n in listed}
    assert families - listed_families == set(), "metrics README.md does not list"


def test_no_doc_points_outside_the_repository() -> None:
    places = [ROOT / "README.md", *(ROOT / "docs").rglob("*"), *(ROOT / "charts").rglob("*")]
    offenders = [
        str(p.relative_to(ROOT))
        for p in places
        if p.is_file() and "../shared" in p.read_text(encoding="utf-8", errors="replace")
    ]
    assert offenders == []
    assert (ROOT / "docs" / "http-api.md").exists()
