"""Every rendered object validated against the schemas of the versions the chart supports.

Built-in kinds: kubernetes-validate, strict (unknown fields refused), at the oldest Kubernetes the
chart supports and the newest schemas shipped. Custom resources (CloudNativePG, the Barman Cloud
plugin, Flux, the Prometheus Operator): the upstream CRD schemas kept in tests/charts/crds, at
every release kept there (CloudNativePG: the minimum supported 1.28 and 1.30), their CEL rules
included. A kind with no schema at all fails: nothing is left unchecked.
"""

from __future__ import annotations

import copy
from pathlib import Path

import kubernetes_validate
import pytest

from tests.charts import crd_schemas
from tests.charts.manifests import CASES, ROOT, Manifest, parse, rendered

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schemas shipped.
VERSIONS = ("1.27.0", kubernetes_validate.latest_version())
FLUX_FILES = sorted((ROOT / "charts" / "flux").rglob("*.yaml"))
CNPG = "postgresql.cnpg.io"


def invalid(manifest: Manifest) -> list[str]:
    """Schema violations of one object at every version it is checked against."""
    where = f"{manifest['kind']}/{manifest['metadata'].get('name')}"
    group = manifest["apiVersion"].rpartition("/")[0]
    if group in {crd["group"] for crd in crd_schemas.kept()}:
        return [
            f"{where} @{r} {e}" for r in crd_schemas.releases(group) for e in crd_schemas.errors(manifest, r)
        ]
    found = []
    for version in VERSIONS:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            found.append(f"{where} @{version} {'.'.join(str(p) for p in e.path)}: {e.message}")
    return found


@pytest.mark.parametrize("case", CASES)
def test_every_rendered_object_is_valid(case: str) -> None:
    assert [error for manifest in rendered(case) for error in invalid(manifest)] == []


@pytest.mark.parametrize("path", FLUX_FILES, ids=lambda p: str(Path(p).relative_to(ROOT / "charts" / "flux")))
def test_every_flux_object_is_valid(path: Path) -> None:
    objects = [m for m in parse(path.read_text()) if "kind" in m and m.get("apiVersion", "").count("/")]
    objects = [
        m for m in objects if not m["apiVersion"].startswith("kustomize.config.k8s.io")
    ]  # kustomize's own
    assert [error for manifest in objects for error in invalid(manifest)] == []


def test_the_custom_resources_cover_every_kind_the_chart_and_flux_use() -> None:
    kinds = {(m["apiVersion"], m["kind"]) for case in CASES for m in rendered(case)}
    custom = {k for k in kinds if "." in k[0].split("/")[0] and not k[0].startswith(("networking.k8s.io",))}
    assert {k for _, k in custom} >= {"Cluster", "Pooler", "ScheduledBackup", "ObjectStore"}
    assert {k for _, k in custom} >= {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
    assert crd_schemas.releases(CNPG) == ["v1.28.0", "v1.30.0"]
    for crd in crd_schemas.kept():
        assert set(crd["source"]) == {"repository", "tag", "commit", "path", "sha256"}


def test_the_validators_are_not_rubber_stamps() -> None:
    """The same calls refuse rendered objects once a field is wrong, misplaced or breaks a CEL rule."""
    deployment = next(m for m in rendered("defaults") if m["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    assert invalid(broken)
    cluster = copy.deepcopy(next(m for m in rendered("cnpg") if m["kind"] == "Cluster"))
    cluster["spec"]["postgresql"]["synchronous"]["failoverQourum"] = True  # a typo
    assert any("failoverQourum" in e and "@v1.30.0" in e for e in invalid(cluster))
    cluster = copy.deepcopy(next(m for m in rendered("cnpg") if m["kind"] == "Cluster"))
    cluster["spec"]["postgresql"]["synchronous"].update(dataDurability="preferred", standbyNamesPre=["x"])
    assert any("requires empty 'standbyNamesPre'" in e for e in invalid(cluster))  # a CEL rule
    release = next(parse((ROOT / "charts/flux/apps/base/helmrelease.yaml").read_text()))
    release["spec"]["install"]["strategy"] = {"name": "RemediateOnFailure", "retryInterval": "5m"}
    assert any("retryInterval cannot be set" in e for e in invalid(release))


def test_the_minimum_cloudnative_pg_release_knows_every_field_the_chart_sets() -> None:
    """1.28 is the first release with `failoverQuorum` in the Cluster spec: an older one refuses it."""
    cluster = next(m for m in rendered("flux-production") if m["kind"] == "Cluster")
    assert cluster["spec"]["postgresql"]["synchronous"]["failoverQuorum"] is True
    assert list(crd_schemas.errors(cluster, "v1.28.0")) == []
