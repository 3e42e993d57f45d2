"""Only the API is reachable (from the ingress controller, and Prometheus on its metrics port when
scraped); only this release's database clients reach a chart-made PostgreSQL or its pooler."""

from __future__ import annotations

import pytest

from tests.charts.manifests import CASES, Manifest, named, of_kind, rendered

CLIENT_LABEL = ("optin-ledger.io/database-client", "true")


def selects(policy: Manifest, labels: dict[str, str]) -> bool:
    wanted: dict[str, str] = policy["spec"]["podSelector"]["matchLabels"]
    return wanted.items() <= labels.items()


def pod_labels(case: str) -> dict[str, dict[str, str]]:
    return {
        f"{m['kind']}/{m['metadata']['name']}": m["spec"]["template"]["metadata"]["labels"]
        for m in rendered(case)
        if m["kind"] in ("Deployment", "Job")
    }


@pytest.mark.parametrize("case", CASES)
def test_every_app_pod_is_closed_to_ingress_but_the_api_port(case: str) -> None:
    policies = [p for p in of_kind(rendered(case), "NetworkPolicy") if "Ingress" in p["spec"]["policyTypes"]]
    for where, labels in pod_labels(case).items():
        covering = [p for p in policies if selects(p, labels)]
        assert covering, f"{where} is not covered by any ingress policy"
        rules = [rule for p in covering for rule in p["spec"].get("ingress", [])]
        ports = [port["port"] for rule in rules for port in rule["ports"]]
        scraped = (
            ["metrics"] if of_kind(rendered(case), "ServiceMonitor") and not where.startswith("Job/") else []
        )
        if labels["app.kubernetes.io/component"] == "api":
            assert sorted(ports) == sorted(["http", *scraped]), where
            http = next(rule for rule in rules if rule["ports"][0]["port"] == "http")
            ingress_namespace = {"kubernetes.io/metadata.name": "ingress-nginx"}
            assert http["from"][0] == {"namespaceSelector": {"matchLabels": ingress_namespace}}
        else:
            assert ports == scraped, f"{where} accepts traffic"
        for rule in rules:
            if rule["ports"][0]["port"] == "metrics":
                prometheus = rule["from"][0]
                assert prometheus["namespaceSelector"]["matchLabels"] == {
                    "kubernetes.io/metadata.name": "monitoring"
                }


@pytest.mark.parametrize("case", CASES)
def test_every_database_client_carries_the_label_the_database_admits(case: str) -> None:
    for where, labels in pod_labels(case).items():
        assert labels.get(CLIENT_LABEL[0]) == CLIENT_LABEL[1], where


@pytest.mark.parametrize("case", [c for c in CASES if of_kind(rendered(c), "Cluster")])
def test_postgresql_admits_the_app_its_own_instances_and_the_operator_only(case: str) -> None:
    manifests = rendered(case)
    for cluster in of_kind(manifests, "Cluster"):
        name = cluster["metadata"]["name"]
        policy = named(manifests, "NetworkPolicy", name)
        assert policy["spec"]["podSelector"]["matchLabels"] == {"cnpg.io/cluster": name}
        peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
        app_peer = next(
            p for p in peers if CLIENT_LABEL[0] in p.get("podSelector", {}).get("matchLabels", {})
        )
        assert app_peer["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "consent"
        assert "namespaceSelector" not in app_peer  # this namespace only
        operator = next(
            p
            for p in peers
            if p.get("podSelector", {}).get("matchLabels") == {"app.kubernetes.io/name": "cloudnative-pg"}
        )
        assert operator["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "cnpg-system"}
        poolers = [
            p for p in peers if "cnpg.io/poolerName" in p.get("podSelector", {}).get("matchLabels", {})
        ]
        scraped = of_kind(manifests, "PodMonitor")
        assert len(peers) == 3 + len(poolers) + (1 if scraped else 0)
        # nothing else in the release, API included, is selected as a database pod
        for labels in pod_labels(case).values():
            assert not selects(policy, labels)


def test_egress_lockdown_allows_dns_the_databases_and_named_providers_only() -> None:
    manifests = rendered("external-database")
    policy = named(manifests, "NetworkPolicy", "-egress")
    assert policy["spec"]["policyTypes"] == ["Egress"]
    ports = [sorted(p["port"] for p in rule["ports"]) for rule in policy["spec"]["egress"]]
    assert ports == [[53, 53], [5432], [465], [443]]
    dns, database, smtp, sms = policy["spec"]["egress"]
    assert {"ipBlock": {"cidr": "169.254.20.10/32"}} in dns["to"]  # NodeLocal DNSCache
    assert database["to"] == [{"ipBlock": {"cidr": "10.20.0.0/24"}}]
    assert smtp["to"] == [{"ipBlock": {"cidr": "192.0.2.25/32"}}]
    assert sms["to"] == [{"ipBlock": {"cidr": "198.51.100.0/28"}}]
    for where, labels in pod_labels("external-database").items():
        assert selects(policy, labels), where


def test_with_chart_made_clusters_egress_reaches_both_and_the_poolers() -> None:
    policy = named(rendered("flux-production"), "NetworkPolicy", "-egress")
    (database,) = [r for r in policy["spec"]["egress"] if r["ports"] == [{"port": 5432, "protocol": "TCP"}]]
    selected = [peer["podSelector"]["matchLabels"] for peer in database["to"]]
    assert selected == [
        {"cnpg.io/cluster": "consent-optin-ledger-db"},
        {"cnpg.io/cluster": "consent-optin-ledger-erasures"},
        {"cnpg.io/poolerName": "consent-optin-ledger-db-pooler"},
        {"cnpg.io/poolerName": "consent-optin-ledger-db-pooler-ro"},  # the API's reads, on the standbys
    ]
