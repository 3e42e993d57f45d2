"""Each hazard of issue 19, reviewed on every values case, and shown to be caught: with its
protection stripped from a copy of the chart (or of the rendered objects), the review flags it.

A stripped protection must be found in the template as written (`strip` asserts it), so a
template that changes shape fails here instead of silently testing nothing.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from tests.charts import hazards
from tests.charts.manifests import (
    CASES,
    CHART,
    NAMESPACE,
    RELEASE,
    Manifest,
    env_of,
    load_values,
    named,
    parse,
    rendered,
)

Review = Callable[[list[Manifest]], list[str]]
REVIEWS: dict[str, Review] = {
    "deletable database": hazards.deletable_database,
    "fragile erasure log": hazards.fragile_erasure_log,
    "connection overrun": hazards.connection_overrun,
    "weak database": hazards.weak_database,
    "fragile probes": hazards.fragile_probes,
    "unscraped metrics": hazards.unscraped_metrics,
}


@pytest.mark.parametrize("review", REVIEWS)
@pytest.mark.parametrize("case", CASES)
def test_no_case_has_the_hazard(case: str, review: str) -> None:
    assert REVIEWS[review](list(rendered(case))) == []


@pytest.mark.parametrize("case", CASES)
def test_no_case_opens_the_network_and_production_locks_egress_down(case: str) -> None:
    manifests = list(rendered(case))
    assert hazards.open_network(manifests, egress_required=case.startswith("flux-")) == []
    if case.startswith("flux-"):
        assert hazards.unpinned_image(manifests) == []


def strip(
    tmp_path: Path, edits: dict[str, list[tuple[str, str]]], values: dict[str, Any] | None
) -> list[Manifest]:
    """Render a copy of the chart with text replaced in its templates (each edit must apply)."""
    chart = tmp_path / "optin-ledger"
    shutil.copytree(CHART, chart)
    for template, replacements in edits.items():
        path = chart / "templates" / template
        text = path.read_text()
        for old, new in replacements:
            assert old in text, f"{template} no longer has {old!r}"
            text = text.replace(old, new)
        path.write_text(text)
    with helm.Chart.load(chart) as copy_of_chart:
        files = copy_of_chart.render(values, name=RELEASE, namespace=NAMESPACE)
    return [doc for name, text in sorted(files.items()) if name.endswith(".yaml") for doc in parse(text)]


KEEP = ("    helm.sh/resource-policy: keep\n", "")
STRIPPED: dict[str, tuple[str, dict[str, list[tuple[str, str]]], str, str]] = {
    # name: (values case, template edits, review, what it must say)
    "keep policy on the clusters": ("cnpg", {"cnpg-cluster.yaml": [KEEP]}, "deletable database", "Cluster/"),
    "keep policy on the object store": (
        "cnpg",
        {"cnpg-backup.yaml": [KEEP]},
        "deletable database",
        "ObjectStore/",
    ),
    "erasure log setting": (
        "flux-production",
        {"_helpers.tpl": [('{{ include "optin-ledger.erasureLogEnv" .ctx }}', "")]},
        "fragile erasure log",
        "on the pod's own disk",
    ),
    "connection budget": (
        "flux-production",
        {
            "_database.tpl": [
                ('{{- fail (printf "connection budget: API', '{{- print (printf "connection budget: API')
            ],
            "cnpg-pooler.yaml": [
                (
                    '{{- range $each := include "optin-ledger.poolers" . | fromJsonArray }}',
                    "{{- range $each := list }}",
                )
            ],
            "_helpers.tpl": [('and (eq .component "api") (include "optin-ledger.usesPooler" .ctx)', "false")],
        },
        "connection overrun",
        "over the 197 max_connections leaves",
    ),
    "the standbys' pooler": (
        "flux-production",
        {"_database.tpl": [('{{- $host = printf "%s-ro" (include "optin-ledger.poolerName" .) -}}', "")]},
        "connection overrun",
        "on one standby",
    ),
    "statement cache off behind the pooler": (
        "flux-production",
        {"_helpers.tpl": [('value: "0"', 'value: "100"')]},
        "connection overrun",
        "statement cache is on behind PgBouncer",
    ),
    "the service's own login": (
        "flux-production",
        {
            "_database.tpl": [
                ("(ternary $v.database.cnpg.owner $v.config.dbRole $owner)", "$v.database.cnpg.owner")
            ]
        },
        "weak database",
        "logs in as the database owner",
    ),
    "verified TLS": (
        "cnpg",
        {"_database.tpl": [("sslmode=verify-full", "sslmode=require")]},
        "weak database",
        "without server verification",
    ),
    "failover quorum": (
        "cnpg",
        {"cnpg-cluster.yaml": [("failoverQuorum: {{ $sync.failoverQuorum }}", "failoverQuorum: false")]},
        "weak database",
        "failover without a quorum check",
    ),
    "parameters sized for memory": (
        "cnpg",
        {"_database.tpl": [('"shared_buffers" (printf "%dMB" (div $memory 4))', '"shared_buffers" "128MB"')]},
        "weak database",
        "shared_buffers not a quarter",
    ),
    "worker and projector probes": (
        "defaults",
        {"worker-deployments.yaml": [("          livenessProbe:", "          x-livenessProbe:")]},
        "fragile probes",
        "no livenessProbe",
    ),
    "readiness that tolerates a failover": (
        "defaults",
        {"api-deployment.yaml": [("failureThreshold: 9", "failureThreshold: 2")]},
        "fragile probes",
        "within 30 s of a database gap",
    ),
    "metrics port open to Prometheus": (
        "cnpg-pooler-monitoring",
        {"networkpolicies.yaml": [("        - port: metrics\n", "        - port: metrics-closed\n")]},
        "unscraped metrics",
        "metrics port closed to Prometheus",
    ),
    "database metrics open to Prometheus": (
        "cnpg-pooler-monitoring",
        {"networkpolicies.yaml": [("{port: 9187, protocol: TCP}", "{port: 9188, protocol: TCP}")]},
        "unscraped metrics",
        "port 9187 closed",
    ),
}


@pytest.mark.parametrize("protection", STRIPPED)
def test_without_its_protection_the_hazard_is_flagged(protection: str, tmp_path: Path) -> None:
    case, edits, review, complaint = STRIPPED[protection]
    found = REVIEWS[review](strip(tmp_path, edits, load_values(case)))
    assert any(complaint in finding for finding in found), found


def api_env(manifests: list[Manifest]) -> dict[str, Manifest]:
    return env_of(named(manifests, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0])


@pytest.mark.parametrize(
    ("location", "complaint"),
    [
        ("/tmp/optin-ledger/erasures.log", "is a file"),
        ("postgresql://erasures:$(P)@consent-optin-ledger-db-rw.optin.svc:5432/erasures", "ledger's own"),
    ],
)
def test_an_erasure_log_on_the_pods_disk_or_in_the_ledger_is_flagged(location: str, complaint: str) -> None:
    manifests = copy.deepcopy(list(rendered("cnpg")))
    api_env(manifests)["OPTIN_ERASURE_LOG"]["value"] = location
    assert any(complaint in f for f in hazards.fragile_erasure_log(manifests))


OPEN_API = (
    "      from:\n"
    "        - namespaceSelector:\n"
    "            matchLabels:\n"
    "              kubernetes.io/metadata.name: {{ .Values.networkPolicy.ingressControllerNamespace }}\n",
    "",
)


def test_the_network_review_flags_the_internet_missing_node_local_dns_and_an_open_api(tmp_path: Path) -> None:
    values = load_values("flux-production")
    assert values is not None
    egress = values["networkPolicy"]["egress"]
    egress["extra"] = [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]}]
    egress["dns"] = {"nodeLocalAddress": ""}
    found = hazards.open_network(strip(tmp_path / "1", {}, values), egress_required=True)
    assert any("whole internet" in f for f in found)
    assert any("NodeLocal DNSCache" in f for f in found)
    open_api = strip(tmp_path / "2", {"networkpolicies.yaml": [OPEN_API]}, load_values("flux-production"))
    assert any("open to every pod" in f for f in hazards.open_network(open_api, egress_required=True))
    egress.update(enabled=False, extra=[], dns={"nodeLocalAddress": "169.254.20.10"})
    assert "no egress lockdown" in hazards.open_network(
        strip(tmp_path / "3", {}, values), egress_required=True
    )


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"smtpCIDRs": ["0.0.0.0/0"]}, "smtpCIDRs"),
        ({"smsCIDRs": ["::/0"]}, "smsCIDRs"),
        ({"smtpCIDRs": []}, "smtpCIDRs: name the SMTP relay"),
        ({"smsCIDRs": []}, "smsCIDRs: name the SMS API"),
    ],
)
def test_provider_egress_must_be_named_and_never_the_internet(
    change: dict[str, Any], complaint: str, tmp_path: Path
) -> None:
    values = load_values("flux-production")
    assert values is not None
    values["networkPolicy"]["egress"].update(change)
    with pytest.raises((helm.HelmError, helm.HelmValuesError), match=complaint):
        strip(tmp_path, {}, values)


def test_an_image_by_tag_is_flagged_in_production() -> None:
    manifests = copy.deepcopy(list(rendered("flux-production")))
    container = named(manifests, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    container["image"] = "ghcr.io/optin-ledger/optin-ledger:0.1.0"
    assert hazards.unpinned_image(manifests) == [
        f"Deployment/consent-optin-ledger-api: image {container['image']} not pinned by digest"
    ]
