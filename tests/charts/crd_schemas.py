"""Upstream CRD schemas kept in the repo, and strict validation of rendered custom resources.

`tests/charts/crds/*.json` hold the `openAPIV3Schema` of each CustomResourceDefinition the chart
and the Flux manifests use, taken from the upstream repository at a release tag (the source,
commit and the SHA-256 of the upstream file are stored with each). Descriptions are dropped to
keep them small; nothing else is changed. Refresh one with:

    git -C MIRROR show TAG:PATH | python -m tests.charts.crd_schemas REPO TAG COMMIT PATH

Validation is as strict as the API server's `Strict` field validation: a field the schema does
not declare is an error, unless the schema keeps unknown fields. The schemas' CEL rules
(`x-kubernetes-validations`) are evaluated too (cel-python), except transition rules (`oldSelf`),
which only apply to updates.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import celpy
import celpy.adapter
import jsonschema
import yaml

FOLDER = Path(__file__).resolve().parent / "crds"
Schema = dict[str, Any]


class UnknownKindError(LookupError):
    """No schema is kept for this apiVersion and kind (at this upstream version)."""


def _strip(node: Any, *, in_properties: bool = False) -> Any:
    """The schema without its prose: `description` annotations go, field names stay."""
    if isinstance(node, dict):
        return {
            key: _strip(value, in_properties=key == "properties" and not in_properties)
            for key, value in node.items()
            if in_properties or key != "description"
        }
    if isinstance(node, list):
        return [_strip(item) for item in node]
    return node


def extract(upstream: str, source: dict[str, str]) -> dict[str, Any]:
    """The kept form of one upstream CRD file."""
    (crd,) = [doc for doc in yaml.safe_load_all(upstream) if doc]
    spec = crd["spec"]
    return {
        "source": {**source, "sha256": hashlib.sha256(upstream.encode()).hexdigest()},
        "group": spec["group"],
        "kind": spec["names"]["kind"],
        "versions": {v["name"]: _strip(v["schema"]["openAPIV3Schema"]) for v in spec["versions"]},
    }


@cache
def kept() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(p.read_text()) for p in sorted(FOLDER.glob("*.json")))


def releases(group: str) -> list[str]:
    """The upstream release tags kept for an API group, e.g. ["v1.28.0", "v1.30.0"]."""
    return sorted({crd["source"]["tag"] for crd in kept() if crd["group"] == group})


def schema_for(api_version: str, kind: str, release: str | None = None) -> Schema:
    group, _, version = api_version.rpartition("/")
    for crd in kept():
        same = (crd["group"], crd["kind"]) == (group, kind) and release in (None, crd["source"]["tag"])
        if same and version in crd["versions"]:
            found: Schema = crd["versions"][version]
            return found
    raise UnknownKindError(f"{api_version} {kind}" + (f" at {release}" if release else ""))


def _strict(node: Any) -> Any:
    """OpenAPI v3 as the API server reads it, in JSON Schema terms."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: (value if key == "enum" else _strict(value)) for key, value in node.items()}
    if "properties" in node:
        out["properties"] = {name: _strict(sub) for name, sub in node["properties"].items()}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
    keeps_unknown = node.get("x-kubernetes-preserve-unknown-fields") is True
    if node.get("type") == "object" and "properties" in node and not keeps_unknown:
        out.setdefault("additionalProperties", False)
    return out


@cache
def _validator(api_version: str, kind: str, release: str | None) -> jsonschema.Draft7Validator:
    schema = _strict(schema_for(api_version, kind, release))
    # metadata is the API server's to check, not the CRD's; names and labels are checked elsewhere
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


_CEL = celpy.Environment()


@cache
def _program(rule: str) -> celpy.Runner:
    return _CEL.program(_CEL.compile(rule))


def _rule_errors(schema: Schema, value: Any, path: str) -> Iterator[str]:
    """The CEL rules of `schema` and of every schema below it, on `value`, as the API server runs them."""
    for check in schema.get("x-kubernetes-validations", []):
        if "oldSelf" in check["rule"]:
            continue
        if not _program(check["rule"]).evaluate({"self": celpy.adapter.json_to_cel(value)}):
            yield f"{path}: {check.get('message') or check['rule']}"
    if isinstance(value, dict):
        for key, item in value.items():
            sub = schema.get("properties", {}).get(key)
            if sub is None and isinstance(schema.get("additionalProperties"), dict):
                sub = schema["additionalProperties"]
            if sub is not None:
                yield from _rule_errors(sub, item, f"{path}/{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _rule_errors(schema["items"], item, f"{path}/{index}")


def errors(manifest: dict[str, Any], release: str | None = None) -> Iterator[str]:
    """Every schema violation of one custom resource, as `path: message`."""
    validator = _validator(manifest["apiVersion"], manifest["kind"], release)
    for error in validator.iter_errors(manifest):
        yield "/".join(str(p) for p in error.absolute_path) + f": {error.message}"
    schema = schema_for(manifest["apiVersion"], manifest["kind"], release)
    yield from _rule_errors(schema["properties"]["spec"], manifest.get("spec", {}), "spec")


def main(argv: list[str]) -> None:
    repository, tag, commit, path = argv
    crd = extract(sys.stdin.read(), {"repository": repository, "tag": tag, "commit": commit, "path": path})
    plural = Path(path).stem
    target = FOLDER / f"{plural}@{tag}.json"
    target.write_text(json.dumps(crd, indent=1, sort_keys=True) + "\n")
    print(f"wrote {target.relative_to(FOLDER.parent)} ({crd['kind']}, {', '.join(crd['versions'])})")


if __name__ == "__main__":
    main(sys.argv[1:])
