"""Only the API is reachable; only this release's database clients reach a chart-made PostgreSQL."""

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
        if labels["app.kubernetes.io/component"] == "api":
            assert [port["port"] for rule in rules for port in rule["ports"]] == ["http"]
        else:
            assert rules == [], f"{where} accepts traffic"


@pytest.mark.parametrize("case", CASES)
def test_every_database_client_carries_the_label_the_database_admits(case: str) -> None:
    for where, labels in pod_labels(case).items():
        assert labels.get(CLIENT_LABEL[0]) == CLIENT_LABEL[1], where


@pytest.mark.parametrize("case", [c for c in CASES if "cnpg" in c])
def test_postgresql_admits_the_app_its_own_instances_and_the_operator_only(case: str) -> None:
    manifests = rendered(case)
    (cluster,) = of_kind(manifests, "Cluster")
    policy = named(manifests, "NetworkPolicy", "-database")
    assert policy["spec"]["podSelector"]["matchLabels"] == {"cnpg.io/cluster": cluster["metadata"]["name"]}
    peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
    app_peer = next(p for p in peers if CLIENT_LABEL[0] in p.get("podSelector", {}).get("matchLabels", {}))
    assert app_peer["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "consent"
    assert "namespaceSelector" not in app_peer  # this namespace only
    operator = next(p for p in peers if "namespaceSelector" in p)
    assert operator["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "cloudnative-pg"}
    assert len(peers) == 3
    # nothing else in the release, API included, is selected as a database pod
    for labels in pod_labels(case).values():
        assert not selects(policy, labels)


def test_egress_lockdown_allows_dns_the_database_and_the_listed_extras() -> None:
    manifests = rendered("external-database")
    policy = named(manifests, "NetworkPolicy", "-egress")
    assert policy["spec"]["policyTypes"] == ["Egress"]
    ports = [sorted(p["port"] for p in rule["ports"]) for rule in policy["spec"]["egress"]]
    assert ports == [[53, 53], [5432], [443, 465]]
    assert policy["spec"]["egress"][1]["to"] == [{"ipBlock": {"cidr": "10.20.0.0/24"}}]
    for where, labels in pod_labels("external-database").items():
        assert selects(policy, labels), where
