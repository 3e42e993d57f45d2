"""Layering rules from DESIGN.md, checked on the source: the domain stays free of I/O libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_LEDGER = {"litestar", "asyncpg", "nacl", "aiosmtplib", "httpx", "psycopg", "uvicorn"}


def imported_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_ledger_imports_no_web_database_or_network_library() -> None:
    offenders = {
        path: sorted(names & (FORBIDDEN_IN_LEDGER | {"api", "adapters", "projections"}))
        for path, names in imported_modules("ledger").items()
    }
    assert {p: n for p, n in offenders.items() if n} == {}


@pytest.mark.parametrize("package", ["projections", "adapters"])
def test_projections_and_adapters_never_import_api(package: str) -> None:
    offenders = {p: n for p, n in imported_modules(package).items() if "api" in n}
    assert offenders == {}
