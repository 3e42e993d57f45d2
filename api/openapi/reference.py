"""docs/http-api.md's reference part, written from the served OpenAPI document (`contract`).

`python -m api.openapi.reference` rewrites everything after the marker line of
docs/http-api.md; tests/api/test_docs.py fails when the file and the schema differ.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- generated from the OpenAPI schema: python -m api.openapi.reference; do not edit below -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "http-api.md"
_METHODS = ("get", "post", "put", "patch", "delete")


def _schema_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return f"list of {_schema_name(schema['items'])}"
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return " or ".join(_schema_name(s) for s in schema[key])
    kind = schema.get("type", "any")
    return f"`{kind if isinstance(kind, str) else '/'.join(kind)}`"


def _body(operation: dict[str, Any]) -> str | None:
    content = operation.get("requestBody", {}).get("content", {})
    if not content:
        return None
    kinds = ", ".join(f"{t} {_schema_name(c.get('schema', {}))}" for t, c in content.items())
    return f"Body: {kinds}"


def _parameters(operation: dict[str, Any]) -> list[str]:
    lines = []
    for p in operation.get("parameters", []):
        need = "required" if p.get("required") else "optional"
        text = (p.get("description") or "").replace("\n", " ")
        line = f"- `{p['name']}` ({p['in']}, {need}, {_schema_name(p.get('schema', {}))})"
        lines.append(f"{line}: {text}" if text else line)
    return lines


def _answers(operation: dict[str, Any]) -> list[str]:
    lines = []
    for code, response in sorted(operation.get("responses", {}).items()):
        content = response.get("content", {})
        kinds = ", ".join(f"{t} {_schema_name(c.get('schema', {}))}" for t, c in content.items())
        what = " ".join(response.get("description", "").split())
        lines.append(f"- **{code}** {kinds + ': ' if kinds else ''}{what}")
    return lines


def _operation(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    roles = ", ".join(operation.get("x-roles", []))
    lines = [f"### {method.upper()} {path}", "", operation.get("summary", ""), "", f"Who: {roles}."]
    body = _body(operation)
    params = _parameters(operation)
    if body or params:
        lines += ["", *([body] if body else []), *params]
    return [*lines, "", *_answers(operation), ""]


def reference(schema: dict[str, Any]) -> str:
    """Every operation, grouped by tag in the schema's order: who, inputs, every answer."""
    by_tag: dict[str, list[str]] = {}
    for path, item in schema["paths"].items():
        for method in _METHODS:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).extend(_operation(path, method, item[method]))
    out = [
        MARKER,
        "",
        f"OpenAPI {schema['openapi']}, {schema['info']['title']} {schema['info']['version']}.",
        "",
    ]
    for tag, lines in by_tag.items():
        out += [f"## {tag[0].upper()}{tag[1:]}", "", *lines]
    return "\n".join(out).rstrip() + "\n"


def current_schema() -> dict[str, Any]:
    """The served document, from an app that is built but never started (no database needed)."""
    from adapters.settings import Settings
    from api.app import create_app
    from api.openapi.contract import contract

    key = secrets.token_bytes(32)
    settings = Settings(
        database_url="postgresql://schema@localhost/none",
        data_dir=Path("/nonexistent"),
        kek=key,
        index_key=key,
        token_key=key,
        signing_key=key,
    )
    return contract(create_app(settings))


def document(existing: str, schema: dict[str, Any]) -> str:
    """`existing` with everything from the marker on replaced by the reference."""
    head = existing.split(MARKER, 1)[0]
    return head + reference(schema)


def main() -> int:
    DOC.write_text(document(DOC.read_text(encoding="utf-8"), current_schema()), encoding="utf-8")
    print(f"wrote {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
