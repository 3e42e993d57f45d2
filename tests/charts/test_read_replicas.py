"""DATABASE_READ_URL in the chart: with CloudNativePG the API reads from the cluster's standbys
(the `-ro` Service, or an `ro` PgBouncer in front of them when the pooler is on), as its own
login over verified TLS; only the API; off when asked, and from a Secret key with an external
database."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.charts.manifests import (
    Manifest,
    env_of,
    load_values,
    merged,
    named,
    of_kind,
    pod_specs,
    render,
    rendered,
)

API = "Deployment/consent-optin-ledger-api"


def api_env(manifests: tuple[Manifest, ...] | list[Manifest]) -> dict[str, Manifest]:
    return env_of(pod_specs(manifests)[API]["containers"][0])


def values(case: str, extra: dict[str, Any]) -> dict[str, Any]:
    base = load_values(case)
    assert base is not None
    return merged(base, extra)


def test_with_cnpg_the_api_reads_from_the_ro_service_as_its_own_login_over_verified_tls() -> None:
    manifests = rendered("cnpg")
    env = api_env(manifests)
    read, write = urlsplit(env["DATABASE_READ_URL"]["value"]), urlsplit(env["DATABASE_URL"]["value"])
    assert read.hostname == "consent-optin-ledger-db-ro.optin.svc"
    assert write.hostname == "consent-optin-ledger-db-rw.optin.svc"
    assert (read.username, read.password, read.path) == (write.username, write.password, write.path)
    assert read.username == "optin_app" and read.password == "$(OPTIN_DB_PASSWORD)"
    assert parse_qs(read.query) == parse_qs(write.query)  # verify-full against the cluster's CA
    assert parse_qs(read.query)["sslmode"] == ["verify-full"]
    names = list(env)
    assert names.index("OPTIN_DB_PASSWORD") < names.index("DATABASE_READ_URL")  # expanded in order
    assert env["OPTIN_READ_REPLICA_WAIT_SECONDS"]["value"] == "1"
    assert env["OPTIN_READ_REPLICA_MAX_LAG_SECONDS"]["value"] == "2"


def test_only_the_api_reads_from_replicas() -> None:
    for case in ("cnpg", "cnpg-pooler-monitoring", "flux-production"):
        manifests = rendered(case)
        reading = {
            w
            for w, pod in pod_specs(manifests).items()
            if "DATABASE_READ_URL" in env_of(pod["containers"][0])
        }
        assert reading == {API}, case


def test_behind_the_pooler_reads_go_through_an_ro_pgbouncer_reachable_by_the_api_alone() -> None:
    manifests = rendered("flux-production")
    env = api_env(manifests)
    assert (
        urlsplit(env["DATABASE_READ_URL"]["value"]).hostname == "consent-optin-ledger-db-pooler-ro.optin.svc"
    )
    assert (
        env["OPTIN_DB_STATEMENT_CACHE"]["value"] == "0"
    )  # transaction pooling: the app waits in a transaction
    pooler = named(manifests, "Pooler", "-pooler-ro")["spec"]
    assert (pooler["type"], pooler["pgbouncer"]["poolMode"]) == ("ro", "transaction")
    assert pooler["cluster"] == {"name": "consent-optin-ledger-db"}
    policy = named(manifests, "NetworkPolicy", "-pooler-ro")["spec"]
    assert policy["podSelector"]["matchLabels"] == {"cnpg.io/poolerName": "consent-optin-ledger-db-pooler-ro"}
    (api_only, *_) = policy["ingress"]
    assert api_only["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "api"
    ledger = named(manifests, "NetworkPolicy", "-db")["spec"]
    peers = [p["podSelector"]["matchLabels"] for p in ledger["ingress"][0]["from"]]
    assert {"cnpg.io/poolerName": "consent-optin-ledger-db-pooler-ro"} in peers  # the standbys take it


def test_the_pooler_podmonitors_scrape_both_poolers() -> None:
    monitors = {m["metadata"]["name"] for m in of_kind(rendered("cnpg-pooler-monitoring"), "PodMonitor")}
    assert {"consent-optin-ledger-db-pooler", "consent-optin-ledger-db-pooler-ro"} <= monitors


def test_off_when_asked_every_read_on_the_primary_and_no_ro_pooler() -> None:
    manifests = render(values("flux-production", {"database": {"readReplicas": {"enabled": False}}}))
    env = api_env(manifests)
    assert "DATABASE_READ_URL" not in env and "OPTIN_READ_REPLICA_WAIT_SECONDS" not in env
    assert [p["spec"]["type"] for p in of_kind(manifests, "Pooler")] == ["rw"]


def test_the_bounds_are_values() -> None:
    change = {"database": {"readReplicas": {"waitSeconds": 0.5, "maxLagSeconds": 10}}}
    env = api_env(render(values("cnpg", change)))
    assert (
        env["OPTIN_READ_REPLICA_WAIT_SECONDS"]["value"],
        env["OPTIN_READ_REPLICA_MAX_LAG_SECONDS"]["value"],
    ) == (
        "0.5",
        "10",
    )


def test_an_external_database_reads_from_the_secret_key_given_else_the_primary() -> None:
    assert "DATABASE_READ_URL" not in api_env(rendered("external-database"))
    change = {"database": {"external": {"readUrlKey": "DATABASE_READ_URL"}}}
    manifests = render(values("external-database", change))
    read = api_env(manifests)["DATABASE_READ_URL"]["valueFrom"]["secretKeyRef"]
    write = api_env(manifests)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert (read["name"], read["key"]) == (write["name"], "DATABASE_READ_URL")
