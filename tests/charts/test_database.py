"""The CloudNativePG resources, checked field by field (kubernetes-validate has no schema for them)."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from tests.charts.manifests import Manifest, env_of, merged, named, of_kind, pod_specs, render, rendered


def cluster(case: str) -> Manifest:
    (found,) = of_kind(rendered(case), "Cluster")
    assert found["apiVersion"] == "postgresql.cnpg.io/v1"
    return found


def test_the_default_cluster_has_three_instances_and_a_synchronous_quorum() -> None:
    spec = cluster("cnpg")["spec"]
    assert spec["instances"] == 3
    assert spec["postgresql"]["synchronous"] == {"method": "any", "number": 1, "dataDurability": "required"}
    assert spec["storage"] == {"size": "50Gi", "storageClass": "fast-ssd"}
    assert spec["postgresql"]["parameters"] == {"max_connections": "200"}
    assert spec["affinity"]["enablePodAntiAffinity"] is True


def test_bootstrap_makes_the_service_role_the_owner_can_become() -> None:
    initdb = cluster("cnpg")["spec"]["bootstrap"]["initdb"]
    assert (initdb["database"], initdb["owner"]) == ("optin_ledger", "optin_ledger")
    assert initdb["postInitApplicationSQL"] == [
        "CREATE ROLE optin_app NOLOGIN",
        "GRANT optin_app TO optin_ledger",
    ]


def test_without_a_service_role_bootstrap_creates_none() -> None:
    (found,) = of_kind(render(merged(VALID_CNPG, {"config": {"dbRole": ""}})), "Cluster")
    assert "postInitApplicationSQL" not in found["spec"]["bootstrap"]["initdb"]


def test_the_app_reads_its_database_url_from_the_operators_secret() -> None:
    name = cluster("cnpg")["metadata"]["name"]
    for where, pod in pod_specs(rendered("cnpg")).items():
        ref = env_of(pod["containers"][0])["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"{name}-app", "key": "uri"}, where


def test_backups_go_through_the_barman_cloud_plugin_on_a_schedule() -> None:
    manifests = rendered("cnpg")
    spec = cluster("cnpg")["spec"]
    (plugin,) = spec["plugins"]
    assert plugin["name"] == "barman-cloud.cloudnative-pg.io"
    assert plugin["isWALArchiver"] is True
    store = named(manifests, "ObjectStore", plugin["parameters"]["barmanObjectName"])
    assert store["apiVersion"] == "barmancloud.cnpg.io/v1"
    configuration = store["spec"]["configuration"]
    assert configuration["destinationPath"] == "s3://optin-backups/production"
    assert configuration["s3Credentials"]["secretAccessKey"] == {
        "name": "optin-backup-s3",
        "key": "ACCESS_SECRET_KEY",
    }
    assert store["spec"]["retentionPolicy"] == "30d"
    (scheduled,) = of_kind(manifests, "ScheduledBackup")
    assert scheduled["spec"]["cluster"] == {"name": cluster("cnpg")["metadata"]["name"]}
    assert scheduled["spec"]["method"] == "plugin"
    assert scheduled["spec"]["pluginConfiguration"] == {"name": plugin["name"]}
    assert len(scheduled["spec"]["schedule"].split()) == 6  # CloudNativePG's cron has seconds
    assert "backup" not in spec  # not both the plugin and the in-tree archiver


def test_the_in_tree_backup_for_older_operators() -> None:
    manifests = rendered("cnpg-in-tree-backup")
    spec = cluster("cnpg-in-tree-backup")["spec"]
    assert spec["instances"] == 5
    assert spec["postgresql"]["synchronous"]["number"] == 2
    store = spec["backup"]["barmanObjectStore"]
    assert store["s3Credentials"] == {"inheritFromIAMRole": True}
    assert spec["backup"]["retentionPolicy"] == "8w"
    assert "plugins" not in spec
    assert of_kind(manifests, "ObjectStore") == []
    (scheduled,) = of_kind(manifests, "ScheduledBackup")
    assert scheduled["spec"]["method"] == "barmanObjectStore"
    assert scheduled["spec"]["schedule"] == "0 30 1 * * 0"


def test_no_cluster_with_an_external_database() -> None:
    for kind in ("Cluster", "ScheduledBackup", "ObjectStore"):
        assert of_kind(rendered("external-database"), kind) == []
        assert of_kind(rendered("defaults"), kind) == []


VALID_CNPG = {
    "database": {
        "mode": "cnpg",
        "cnpg": {"backup": {"destinationPath": "s3://b/p", "s3Credentials": {"existingSecret": "s3"}}},
    }
}


def test_the_baseline_of_the_refusals_below_renders() -> None:
    assert of_kind(render(VALID_CNPG), "Cluster")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"synchronous": {"number": 3}}, "below database.cnpg.instances"),
        ({"instances": 1}, "instances"),
        ({"backup": {"destinationPath": ""}}, "destinationPath"),
        ({"backup": {"schedule": "0 3 * * *"}}, "schedule"),
        ({"backup": {"s3Credentials": {"existingSecret": ""}}}, "s3Credentials.existingSecret is required"),
    ],
)
def test_unsafe_cluster_settings_are_refused(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises(helm.HelmError, match=complaint):
        render(merged(VALID_CNPG, {"database": {"cnpg": change}}))
