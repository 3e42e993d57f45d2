"""Every rendered object validated against the Kubernetes API schemas (kubernetes-validate, strict).

Strict mode refuses unknown fields, so a misspelt or misplaced key fails here, not in a cluster.
kubernetes-validate knows only the built-in kinds: the CloudNativePG ones are listed below and
checked field by field in test_database.py instead.
"""

from __future__ import annotations

import kubernetes_validate
import pytest

from tests.charts.manifests import CASES, rendered

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schemas shipped.
VERSIONS = ("1.27.0", kubernetes_validate.latest_version())
CUSTOM_KINDS = {
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"),
    ("barmancloud.cnpg.io/v1", "ObjectStore"),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", CASES)
def test_every_object_is_valid_kubernetes(case: str, version: str) -> None:
    invalid: list[str] = []
    unknown: set[tuple[str, str]] = set()
    for manifest in rendered(case):
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unknown.add((manifest["apiVersion"], manifest["kind"]))
        except kubernetes_validate.ValidationError as e:
            where = ".".join(str(p) for p in e.path)
            invalid.append(f"{manifest['kind']}/{manifest['metadata']['name']} {where}: {e.message}")
    assert invalid == []
    assert unknown <= CUSTOM_KINDS


def test_the_validator_is_not_a_rubber_stamp() -> None:
    """The same call refuses a rendered Deployment once its replica count is not a number."""
    deployment = next(m for m in rendered("defaults") if m["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[0], strict=True)
