"""Every pod runs as a non-root user on a read-only root file system, with nothing to escalate."""

from __future__ import annotations

import pytest

from tests.charts.manifests import CASES, Manifest, pod_specs, rendered


def containers(pod: Manifest) -> list[Manifest]:
    return [*pod.get("initContainers", []), *pod["containers"]]


@pytest.mark.parametrize("case", CASES)
def test_pods_run_as_non_root_with_no_privileges(case: str) -> None:
    pods = pod_specs(rendered(case))
    assert pods, "the chart rendered no workload"
    for where, pod in pods.items():
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["runAsUser"] > 0, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["automountServiceAccountToken"] is False, where
        assert pod.get("hostNetwork", False) is False, where
        for container in containers(pod):
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, where
            assert context.get("runAsUser", 1) != 0, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert context.get("privileged", False) is False, where


@pytest.mark.parametrize("case", CASES)
def test_the_only_writable_path_is_an_empty_dir_at_tmp(case: str) -> None:
    """Besides /tmp, only read-only CA certificates (the `ca.crt` of a CloudNativePG CA Secret)."""
    for where, pod in pod_specs(rendered(case)).items():
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes["tmp"], where
        for container in containers(pod):
            mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
            assert mounts.pop("/tmp")["name"] == "tmp", where
            for path, mount in mounts.items():
                assert mount["readOnly"] is True, f"{where}: {path}"
                secret = volumes[mount["name"]]["secret"]
                assert secret["secretName"].endswith("-ca"), where
                assert secret["items"] == [{"key": "ca.crt", "path": "ca.crt"}], where  # never ca.key


@pytest.mark.parametrize("case", CASES)
def test_every_container_has_resource_requests_and_a_memory_limit(case: str) -> None:
    for where, pod in pod_specs(rendered(case)).items():
        for container in containers(pod):
            assert container["resources"]["requests"]["cpu"], where
            assert container["resources"]["limits"]["memory"], where
