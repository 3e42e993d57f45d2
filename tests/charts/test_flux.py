"""The Flux manifests hang together: sources, paths, names and values that render."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

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
    assert sync["spec"]["prune"] is True
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
