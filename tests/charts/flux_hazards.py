"""An operator's review of the Flux objects: what lets a routine Flux operation delete the data,
deploy before its prerequisites, or report healthy while WAL archiving is broken."""

from __future__ import annotations

from tests.charts.manifests import Manifest

PREREQUISITES = {"cert-manager", "cnpg-operator", "barman-cloud-plugin"}
PRUNE_DISABLED = ("kustomize.toolkit.fluxcd.io/prune", "disabled")


def _checks_archiving(exprs: list[Manifest]) -> bool:
    return any(
        e.get("kind") == "Cluster" and "ContinuousArchiving" in e.get("current", "") + e.get("failed", "")
        for e in exprs
    )


def unsafe_release(release: Manifest) -> list[str]:
    """Remediation meant for stateless releases: uninstall between install attempts, rollback or
    cleanup of a failed upgrade; or health that ignores the database clusters."""
    spec, found = release["spec"], []
    for action in ("install", "upgrade"):
        strategy = spec.get(action, {}).get("strategy", {}).get("name", "RemediateOnFailure")
        if strategy != "RetryOnFailure":
            found.append(
                f"a failed {action} is remediated ({'uninstall' if action == 'install' else 'rollback'})"
            )
    if spec.get("upgrade", {}).get("cleanupOnFail"):
        found.append("a failed upgrade deletes what it created")
    if not _checks_archiving(spec.get("healthCheckExprs", [])):
        found.append("the release is healthy whatever the database clusters' state")
    return found


def unsafe_sync(sync: Manifest, namespace: Manifest, cluster_names: set[str]) -> list[str]:
    """Pruning that reaches the namespace, deletion that reaches the data, missing prerequisites,
    or no health check on the clusters (so broken WAL archiving goes unnoticed)."""
    spec, found = sync["spec"], []
    annotations = namespace["metadata"].get("annotations", {})
    if spec.get("prune") and annotations.get(PRUNE_DISABLED[0]) != PRUNE_DISABLED[1]:
        found.append(f"pruning can delete Namespace/{namespace['metadata']['name']} and the databases in it")
    if spec.get("deletionPolicy") != "Orphan":
        found.append("deleting the Kustomization deletes what it applied")
    missing = PREREQUISITES - {d["name"] for d in spec.get("dependsOn", [])}
    if missing:
        found.append(f"no dependsOn for {', '.join(sorted(missing))}")
    checked = {c["name"] for c in spec.get("healthChecks", []) if c["kind"] == "Cluster"}
    if (
        spec.get("wait")
        or not cluster_names <= checked
        or not _checks_archiving(spec.get("healthCheckExprs", []))
    ):
        found.append("no health check on the database clusters' readiness and WAL archiving")
    return found
