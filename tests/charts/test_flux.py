"""The Flux manifests hang together (sources, paths, names and values that render), and no routine
Flux operation can delete the data: each protection, removed, is flagged by the review."""

from __future__ import annotations

import copy
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import celpy
import celpy.adapter
import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from tests.charts.flux_hazards import unsafe_release, unsafe_sync
from tests.charts.manifests import CHART, ROOT, Manifest, parse

FLUX = ROOT / "charts" / "flux"
ENVIRONMENTS = sorted(p.name for p in (FLUX / "apps").iterdir() if p.name != "base")
FLUX_APIS = {
    "GitRepository": "source.toolkit.fluxcd.io/v1",
    "Kustomization": "kustomize.toolkit.fluxcd.io/v1",
    "HelmRelease": "helm.toolkit.fluxcd.io/v2",
}


def objects(path: Path) -> list[Manifest]:
    return list(parse(path.read_text()))


def cluster_objects(env: str) -> dict[str, Manifest]:
    found = {m["kind"]: m for m in objects(FLUX / "clusters" / env / "optin-ledger.yaml")}
    assert set(found) == {"GitRepository", "Kustomization"}
    return found


def kustomization(folder: Path) -> Manifest:
    found: Manifest = yaml.safe_load((folder / "kustomization.yaml").read_text())
    return found


def test_there_are_staging_and_production() -> None:
    assert ENVIRONMENTS == ["production", "staging"]
    assert sorted(p.name for p in (FLUX / "clusters").iterdir()) == ENVIRONMENTS


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_cluster_points_flux_at_its_environment(env: str) -> None:
    source, sync = cluster_objects(env)["GitRepository"], cluster_objects(env)["Kustomization"]
    for manifest in (source, sync):
        assert manifest["apiVersion"] == FLUX_APIS[manifest["kind"]]
        assert manifest["metadata"]["namespace"] == "flux-system"
    assert sync["spec"]["sourceRef"] == {"kind": "GitRepository", "name": source["metadata"]["name"]}
    assert sync["spec"]["path"] == f"./charts/flux/apps/{env}"
    assert (ROOT / sync["spec"]["path"] / "kustomization.yaml").is_file()
    assert sync["spec"]["prune"] is True  # what leaves git goes, but see the review below
    # staging follows the main branch; production only release tags
    assert source["spec"]["ref"] == ({"branch": "main"} if env == "staging" else {"semver": ">=0.1.0"})


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_file_a_kustomization_names_exists(env: str) -> None:
    for folder in (FLUX / "apps" / env, FLUX / "apps" / "base"):
        spec = kustomization(folder)
        for resource in spec["resources"]:
            assert (folder / resource).exists(), f"{folder}: {resource}"
        for generator in spec.get("configMapGenerator", []):
            for file in generator["files"]:
                assert (folder / file).is_file()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_release_takes_the_chart_from_git_and_the_values_the_overlay_makes(env: str) -> None:
    (release,) = objects(FLUX / "apps" / "base" / "helmrelease.yaml")
    assert release["apiVersion"] == FLUX_APIS["HelmRelease"]
    chart = release["spec"]["chart"]["spec"]
    assert (ROOT / chart["chart"]).resolve() == CHART
    source = cluster_objects(env)["GitRepository"]
    assert chart["sourceRef"] == {
        "kind": "GitRepository",
        "name": source["metadata"]["name"],
        "namespace": source["metadata"]["namespace"],
    }
    (values_from,) = release["spec"]["valuesFrom"]
    overlay = kustomization(FLUX / "apps" / env)
    (generator,) = overlay["configMapGenerator"]
    assert values_from == {"kind": "ConfigMap", "name": generator["name"], "valuesKey": "values.yaml"}
    # a hashed name would no longer match the reference inside the HelmRelease
    assert overlay["generatorOptions"]["disableNameSuffixHash"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_plain_kubernetes_objects_are_valid(env: str) -> None:
    (namespace,) = objects(FLUX / "apps" / env / "namespace.yaml")
    kubernetes_validate.validate(namespace, "1.27.0", strict=True)
    assert namespace["metadata"]["name"] == kustomization(FLUX / "apps" / env)["namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl (its built-in kustomize) is not installed"
)
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_kustomize_builds_the_overlay(env: str) -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(FLUX / "apps" / env)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    by_kind = {m["kind"]: m for m in parse(built)}
    assert set(by_kind) == {"Namespace", "ConfigMap", "HelmRelease"}
    assert by_kind["HelmRelease"]["metadata"]["namespace"] == f"optin-{env}"
    values = (FLUX / "apps" / env / "values.yaml").read_text()
    assert by_kind["ConfigMap"]["data"]["values.yaml"] == values


def release() -> Manifest:
    (found,) = objects(FLUX / "apps" / "base" / "helmrelease.yaml")
    return found


def rendered_clusters(env: str) -> set[str]:
    """The Cluster names the release makes: Helm names it after the HelmRelease."""
    values = yaml.safe_load((FLUX / "apps" / env / "values.yaml").read_text())
    with helm.Chart.load(CHART) as chart:
        files = chart.render(values, name=release()["metadata"]["name"], namespace=f"optin-{env}")
    texts = [text for name, text in files.items() if name.endswith(".yaml")]
    return {m["metadata"]["name"] for text in texts for m in parse(text) if m.get("kind") == "Cluster"}


def review(env: str, change: Callable[[Manifest, Manifest, Manifest], None] | None = None) -> list[str]:
    """Both reviews over (a changed copy of) the release, the sync and the namespace."""
    sync = copy.deepcopy(cluster_objects(env)["Kustomization"])
    (namespace,) = objects(FLUX / "apps" / env / "namespace.yaml")
    helm_release = release()
    if change:
        change(helm_release, sync, namespace)
    return unsafe_release(helm_release) + unsafe_sync(sync, namespace, rendered_clusters(env))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_routine_flux_operation_can_delete_the_data(env: str) -> None:
    assert review(env) == []
    assert rendered_clusters(env) == {"optin-ledger-db", "optin-ledger-erasures"}


def _drop(path: list[str]) -> Callable[[Manifest, Manifest, Manifest], None]:
    def change(helm_release: Manifest, sync: Manifest, namespace: Manifest) -> None:
        target = {"release": helm_release, "sync": sync, "namespace": namespace}[path[0]]
        for key in path[1:-1]:
            target = target[key]
        target.pop(path[-1])

    return change


REMOVED = {
    "install strategy": (
        _drop(["release", "spec", "install", "strategy"]),
        "a failed install is remediated (uninstall)",
    ),
    "upgrade strategy": (
        _drop(["release", "spec", "upgrade", "strategy"]),
        "a failed upgrade is remediated (rollback)",
    ),
    "release health": (
        _drop(["release", "spec", "healthCheckExprs"]),
        "whatever the database clusters' state",
    ),
    "namespace prune guard": (
        _drop(["namespace", "metadata", "annotations"]),
        "pruning can delete Namespace",
    ),
    "orphaning deletion": (_drop(["sync", "spec", "deletionPolicy"]), "deleting the Kustomization deletes"),
    "prerequisites": (
        _drop(["sync", "spec", "dependsOn"]),
        "no dependsOn for barman-cloud-plugin, cert-manager",
    ),
    "cluster health": (_drop(["sync", "spec", "healthChecks"]), "no health check on the database clusters"),
}


@pytest.mark.parametrize("protection", REMOVED)
def test_without_its_protection_a_flux_hazard_is_flagged(protection: str) -> None:
    change, complaint = REMOVED[protection]
    assert any(complaint in finding for finding in review("production", change))


def test_cleanup_of_a_failed_upgrade_is_flagged() -> None:
    def cleanup(helm_release: Manifest, sync: Manifest, namespace: Manifest) -> None:
        helm_release["spec"]["upgrade"]["cleanupOnFail"] = True

    assert "a failed upgrade deletes what it created" in review("staging", cleanup)


def cluster_status(**conditions: str) -> Any:
    status = {"conditions": [{"type": kind, "status": value} for kind, value in conditions.items()]}
    return celpy.adapter.json_to_cel(status)


@pytest.mark.parametrize("where", ["release", "sync"])
def test_the_health_expressions_fail_on_broken_wal_archiving(where: str) -> None:
    """Evaluated with CEL as Flux does: a missing S3 Secret stops archiving, and that is a failure."""
    spec = release()["spec"] if where == "release" else cluster_objects("production")["Kustomization"]["spec"]
    (expr,) = [e for e in spec["healthCheckExprs"] if e["kind"] == "Cluster"]
    env = celpy.Environment()

    def holds(text: str, status: Any) -> bool:
        return bool(env.program(env.compile(text)).evaluate({"status": status}))

    healthy = cluster_status(Ready="True", ContinuousArchiving="True")
    archiving_broken = cluster_status(Ready="True", ContinuousArchiving="False")
    assert holds(expr["current"], healthy) and not holds(expr["failed"], healthy)
    assert not holds(expr["current"], archiving_broken) and holds(expr["failed"], archiving_broken)
    assert not holds(expr["current"], cluster_status(Ready="False", ContinuousArchiving="True"))
