"""The CloudNativePG resources field by field: two clusters, kept on uninstall, the service on a
login of its own over verified TLS, sized parameters, backups through the Barman Cloud plugin."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import helm_python as helm
import pytest

from tests.charts.manifests import Manifest, env_of, merged, named, of_kind, pod_specs, render, rendered


def clusters(case: str) -> dict[str, Manifest]:
    found = {
        c["metadata"]["labels"]["app.kubernetes.io/component"]: c for c in of_kind(rendered(case), "Cluster")
    }
    assert set(found) == {"database", "erasure-log"}
    return found


def test_the_ledger_cluster_has_three_instances_a_synchronous_quorum_and_quorum_failover() -> None:
    spec = clusters("cnpg")["database"]["spec"]
    assert spec["instances"] == 3
    assert spec["postgresql"]["synchronous"] == {
        "method": "any",
        "number": 1,
        "dataDurability": "required",
        "failoverQuorum": True,
    }
    assert spec["storage"] == {"size": "50Gi", "storageClass": "fast-ssd"}
    assert spec["affinity"]["enablePodAntiAffinity"] is True


def test_postgresql_is_guaranteed_qos_and_sized_for_its_memory() -> None:
    spec = clusters("cnpg")["database"]["spec"]
    assert spec["resources"]["requests"] == spec["resources"]["limits"] == {"cpu": "2", "memory": "8Gi"}
    assert spec["postgresql"]["parameters"] == {
        "max_connections": "200",
        "shared_buffers": "2048MB",
        "effective_cache_size": "6144MB",
        "maintenance_work_mem": "512MB",
        "work_mem": "10MB",
        "log_min_duration_statement": "1s",  # given in the values: kept
    }


def test_the_service_logs_in_as_its_own_role_over_verified_tls() -> None:
    ledger = clusters("cnpg")["database"]
    initdb = ledger["spec"]["bootstrap"]["initdb"]
    assert (initdb["database"], initdb["owner"]) == ("optin_ledger", "optin_ledger")
    (role,) = ledger["spec"]["managed"]["roles"]
    assert (role["name"], role["login"], role["passwordSecret"]) == (
        "optin_app",
        True,
        {"name": "consent-optin-ledger-db-service"},
    )
    assert role["connectionLimit"] == 50  # the connection budget, enforced by the server
    for where, pod in pod_specs(rendered("cnpg")).items():
        env = env_of(pod["containers"][0])
        url = urlsplit(env["DATABASE_URL"]["value"])
        assert url.username == ("optin_ledger" if where.startswith("Job/") else "optin_app"), where
        assert url.password == "$(OPTIN_DB_PASSWORD)"
        assert list(env).index("OPTIN_DB_PASSWORD") < list(env).index("DATABASE_URL")  # expanded in order
        secret = env["OPTIN_DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"]
        assert secret == (
            "consent-optin-ledger-db-app" if where.startswith("Job/") else role["passwordSecret"]["name"]
        )
        query = parse_qs(url.query)
        assert query["sslmode"] == ["verify-full"]
        mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
        volume = next(
            v for v in pod["volumes"] if v["name"] == mounts[query["sslrootcert"][0].rsplit("/", 1)[0]]
        )
        assert volume["secret"] == {
            "secretName": "consent-optin-ledger-db-ca",
            "items": [{"key": "ca.crt", "path": "ca.crt"}],
        }
    assert named(rendered("cnpg"), "ConfigMap", "")["data"]["OPTIN_DB_ROLE"] == ""  # no SET ROLE to undo


def test_the_erasure_log_has_a_small_cluster_of_its_own() -> None:
    found = clusters("cnpg")
    erasures = found["erasure-log"]["spec"]
    assert erasures["instances"] == 2
    assert erasures["postgresql"]["synchronous"]["number"] == 1
    assert erasures["bootstrap"]["initdb"] == {"database": "erasures", "owner": "erasures"}
    api = named(rendered("cnpg"), "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    url = urlsplit(env_of(api)["OPTIN_ERASURE_LOG"]["value"])
    assert url.hostname == f"{found['erasure-log']['metadata']['name']}-rw.optin.svc"
    assert parse_qs(url.query)["sslmode"] == ["verify-full"]


def test_backups_of_both_clusters_go_through_the_barman_cloud_plugin() -> None:
    manifests = rendered("cnpg")
    (store,) = of_kind(manifests, "ObjectStore")
    assert store["spec"]["configuration"]["destinationPath"] == "s3://optin-backups/production"
    assert store["spec"]["configuration"]["s3Credentials"]["secretAccessKey"] == {
        "name": "optin-backup-s3",
        "key": "ACCESS_SECRET_KEY",
    }
    assert store["spec"]["retentionPolicy"] == "30d"
    scheduled = {s["spec"]["cluster"]["name"]: s for s in of_kind(manifests, "ScheduledBackup")}
    for cluster in clusters("cnpg").values():
        (plugin,) = cluster["spec"]["plugins"]
        assert plugin["isWALArchiver"] is True
        assert plugin["parameters"] == {
            "barmanObjectName": store["metadata"]["name"],
            "serverName": cluster["metadata"]["name"],  # one folder per cluster in the store
        }
        assert "backup" not in cluster["spec"]  # the in-tree Barman support is not used
        backup = scheduled[cluster["metadata"]["name"]]["spec"]
        assert (backup["method"], backup["pluginConfiguration"]) == ("plugin", {"name": plugin["name"]})
        assert len(backup["schedule"].split()) == 6  # CloudNativePG's cron has seconds


def test_the_poolers_serve_the_api_only_and_the_certificate_names_them() -> None:
    """`rw` in front of the primary, `ro` in front of the standbys (the API's reads)."""
    manifests = rendered("cnpg-pooler-monitoring")
    poolers = {p["spec"]["type"]: p for p in of_kind(manifests, "Pooler")}
    assert set(poolers) == {"rw", "ro"}
    ledger = clusters("cnpg-pooler-monitoring")["database"]
    for kind, variable in (("rw", "DATABASE_URL"), ("ro", "DATABASE_READ_URL")):
        pooler = poolers[kind]
        assert pooler["spec"]["pgbouncer"]["poolMode"] == "transaction"
        name = pooler["metadata"]["name"]
        assert f"{name}.optin.svc" in ledger["spec"]["certificates"]["serverAltDNSNames"]
        hosts = {
            where: urlsplit(env[variable]["value"]).hostname
            for where, pod in pod_specs(manifests).items()
            if variable in (env := env_of(pod["containers"][0]))
        }
        assert {w for w, h in hosts.items() if h == f"{name}.optin.svc"} == {
            "Deployment/consent-optin-ledger-api"
        }


def test_no_cluster_with_external_databases() -> None:
    for kind in ("Cluster", "ScheduledBackup", "ObjectStore", "Pooler"):
        assert of_kind(rendered("external-database"), kind) == []
        assert of_kind(rendered("defaults"), kind) == []


VALID_CNPG = {
    "database": {
        "mode": "cnpg",
        "cnpg": {"backup": {"destinationPath": "s3://b/p", "s3Credentials": {"existingSecret": "s3"}}},
    }
}


def test_the_baseline_of_the_refusals_below_renders() -> None:
    assert len(of_kind(render(VALID_CNPG), "Cluster")) == 2


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"database": {"cnpg": {"synchronous": {"number": 3}}}}, "below database.cnpg.instances"),
        ({"database": {"cnpg": {"instances": 1}}}, "instances"),
        ({"database": {"cnpg": {"backup": {"destinationPath": ""}}}}, "destinationPath"),
        ({"database": {"cnpg": {"backup": {"schedule": "0 3 * * *"}}}}, "schedule"),
        (
            {"database": {"cnpg": {"backup": {"s3Credentials": {"existingSecret": ""}}}}},
            "existingSecret is required",
        ),
        ({"database": {"cnpg": {"resources": {"limits": {"cpu": "2"}}}}}, "Guaranteed QoS"),
        ({"erasureLog": {"cnpg": {"resources": {"requests": {"memory": "128Mi"}}}}}, "Guaranteed QoS"),
        (
            {
                "database": {
                    "cnpg": {"resources": {"limits": {"memory": "2Ti"}, "requests": {"memory": "2Ti"}}}
                }
            },
            "Gi, Mi",
        ),
        (
            {"database": {"cnpg": {"pooler": {"enabled": True}}}, "worker": {"enabled": False}},
            "LISTEN/NOTIFY",
        ),
        ({"api": {"autoscaling": {"enabled": True, "maxReplicas": 20}}}, "connection budget: API 250"),
        (
            {
                "database": {"cnpg": {"pooler": {"enabled": True, "maxClientConn": 100}}},
                "api": {"replicas": 10},
            },
            "would exceed database.cnpg.pooler.maxClientConn",
        ),
    ],
)
def test_unsafe_database_settings_are_refused(change: dict[str, Any], complaint: str) -> None:
    with pytest.raises((helm.HelmError, helm.HelmValuesError), match=complaint):
        render(merged(VALID_CNPG, change))
