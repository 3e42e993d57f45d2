"""The chart rendered offline with helm-python-sdk (Helm's own Go library), parsed into objects."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "optin-ledger"
RELEASE = "consent"
NAMESPACE = "optin"

Manifest = dict[str, Any]

# The values cases the issue asks for, plus the environments Flux deploys.
CASES: dict[str, Path | None] = {
    "defaults": None,
    **{p.name.removesuffix("-values.yaml"): p for p in sorted((CHART / "ci").glob("*-values.yaml"))},
    **{f"flux-{p.parent.name}": p for p in sorted((ROOT / "charts" / "flux" / "apps").glob("*/values.yaml"))},
}


def load_values(case: str) -> dict[str, Any] | None:
    path = CASES[case]
    return None if path is None else yaml.safe_load(path.read_text())


def render(values: dict[str, Any] | None, *, install: bool = True) -> list[Manifest]:
    """Every object `helm template` would print (hooks included), in template order."""
    with helm.Chart.load(CHART) as chart:
        files = chart.render(
            values, name=RELEASE, namespace=NAMESPACE, is_install=install, is_upgrade=not install
        )
    return [doc for name, text in sorted(files.items()) if name.endswith(".yaml") for doc in parse(text)]


def render_text(values: dict[str, Any] | None) -> str:
    with helm.Chart.load(CHART) as chart:
        return "\n".join(chart.render(values, name=RELEASE, namespace=NAMESPACE).values())


def parse(text: str) -> Iterator[Manifest]:
    for doc in yaml.safe_load_all(text):
        if doc:
            assert isinstance(doc, dict)
            yield doc


@cache
def rendered(case: str) -> tuple[Manifest, ...]:
    """Rendered once per case for the whole session (rendering is pure)."""
    return tuple(render(load_values(case)))


def of_kind(manifests: Sequence[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def named(manifests: Sequence[Manifest], kind: str, suffix: str) -> Manifest:
    found = [m for m in of_kind(manifests, kind) if m["metadata"]["name"].endswith(suffix)]
    assert len(found) == 1, f"expected one {kind} named *{suffix}, found {len(found)}"
    return found[0]


def pod_specs(manifests: tuple[Manifest, ...] | list[Manifest]) -> dict[str, Manifest]:
    """Pod spec of every workload, by `Kind/name`."""
    return {
        f"{m['kind']}/{m['metadata']['name']}": m["spec"]["template"]["spec"]
        for m in manifests
        if m["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")
    }


def env_of(container: Manifest) -> dict[str, Manifest]:
    return {e["name"]: e for e in container.get("env", [])}


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`, nested mappings merged the way Helm merges values files."""
    out = dict(base)
    for key, value in extra.items():
        nested = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merged(out[key], value) if nested else value
    return out
