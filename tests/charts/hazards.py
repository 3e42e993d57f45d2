"""An operator's review of a rendered release, as code: each function names what could lose the
database, lose erasures or take the service down, reading only the rendered objects.

Each check is independent of the template that protects against its hazard, so a test can strip
the protection from a copy of the chart and see the check flag the result.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from urllib.parse import parse_qs, urlsplit

from tests.charts.manifests import Manifest, env_of, of_kind

Manifests = Sequence[Manifest]
SUPERUSER_RESERVED = 3  # PostgreSQL's default superuser_reserved_connections
DEFAULT_POOL_MAX = {"serve": 20, "project": 20, "worker": 8}  # the commands' own defaults
KEPT_KINDS = ("Cluster", "ObjectStore", "ScheduledBackup")


def app_containers(manifests: Manifests) -> Iterator[tuple[str, Manifest, Manifest]]:
    """(where, workload, container) for every container of the app (Deployments and Jobs)."""
    for m in manifests:
        if m["kind"] in ("Deployment", "Job"):
            for c in m["spec"]["template"]["spec"]["containers"]:
                yield f"{m['kind']}/{m['metadata']['name']}", m, c


def _value(container: Manifest, name: str) -> str | None:
    entry = env_of(container).get(name)
    return None if entry is None else entry.get("value")


def _ledger_cluster(manifests: Manifests) -> Manifest | None:
    found = [
        c
        for c in of_kind(manifests, "Cluster")
        if c["metadata"]["labels"].get("app.kubernetes.io/component") == "database"
    ]
    return found[0] if found else None


def deletable_database(manifests: Manifests) -> list[str]:
    """A database object Helm deletes on uninstall (or a failed install's remediation)."""
    return [
        f"{m['kind']}/{m['metadata']['name']} is deleted with the release"
        for m in manifests
        if m["kind"] in KEPT_KINDS
        and (m["metadata"].get("annotations") or {}).get("helm.sh/resource-policy") != "keep"
    ]


def fragile_erasure_log(manifests: Manifests) -> list[str]:
    """An app container whose erasure log is not durable, not shared, or inside the ledger."""
    found = []
    for where, _workload, container in app_containers(manifests):
        entry = env_of(container).get("OPTIN_ERASURE_LOG")
        if entry is None:
            found.append(f"{where}: no OPTIN_ERASURE_LOG, so <data dir>/erasures.log on the pod's own disk")
            continue
        value = entry.get("value")
        if value is None:
            continue  # from a Secret (an external database): the chart cannot see further
        if not value.startswith("postgresql://"):
            found.append(f"{where}: the erasure log is a file ({value}), per pod and lost with it")
        elif urlsplit(value).hostname == urlsplit(_value(container, "DATABASE_URL") or "").hostname:
            found.append(f"{where}: the erasure log is in the ledger's own cluster, restored with it")
    return found


def _pods_at_most(deployment: Manifest, hpa_max: dict[str, int]) -> int:
    pods = hpa_max.get(deployment["metadata"]["name"], deployment["spec"].get("replicas", 1))
    surge = deployment["spec"].get("strategy", {}).get("rollingUpdate", {}).get("maxSurge", "25%")
    extra = math.ceil(pods * int(surge[:-1]) / 100) if isinstance(surge, str) else int(surge)
    return int(pods) + extra


def connection_overrun(manifests: Manifests) -> list[str]:
    """More connections at the HPA maximum (plus rollout surge) than the ledger's PostgreSQL takes,
    on the primary or on any one standby (the API's reads: all of them may land on one), or a
    pooled connection that cannot work (statement cache on, or a LISTEN through PgBouncer)."""
    cluster = _ledger_cluster(manifests)
    if cluster is None:
        return []
    parameters = cluster["spec"]["postgresql"].get("parameters", {})
    limit = int(parameters.get("max_connections", 100)) - SUPERUSER_RESERVED
    poolers = {p["metadata"]["name"]: p for p in of_kind(manifests, "Pooler")}
    hpa_max = {
        h["spec"]["scaleTargetRef"]["name"]: h["spec"]["maxReplicas"]
        for h in of_kind(manifests, "HorizontalPodAutoscaler")
    }
    found, totals = [], {"rw": 0, "ro": 0}
    for where, workload, container in app_containers(manifests):
        if workload["kind"] != "Deployment":
            continue
        command = container["args"][0]
        pool = int(_value(container, "OPTIN_DB_POOL_MAX") or DEFAULT_POOL_MAX[command])
        for variable, kind in (("DATABASE_URL", "rw"), ("DATABASE_READ_URL", "ro")):
            url = _value(container, variable)
            if url is None:
                continue
            host = (urlsplit(url).hostname or "").split(".")[0]
            if host in poolers:
                if command != "serve":
                    found.append(f"{where}: LISTEN/NOTIFY through transaction pooling")
                if _value(container, "OPTIN_DB_STATEMENT_CACHE") != "0":
                    found.append(f"{where}: asyncpg's statement cache is on behind PgBouncer")
                continue
            extra = 1 if command == "project" else 0
            totals[kind] += _pods_at_most(workload, hpa_max) * (pool + extra)
    for pooler in poolers.values():
        size = int(pooler["spec"]["pgbouncer"]["parameters"]["default_pool_size"])
        totals[pooler["spec"]["type"]] += pooler["spec"]["instances"] * (size + 1)
    for kind, total in totals.items():
        if total > limit:
            on = "" if kind == "rw" else " on one standby"
            found.append(f"{total} connections at most{on}, over the {limit} max_connections leaves")
    return found


def _mebibytes(quantity: str) -> int:
    units = {"Gi": 1024, "Mi": 1}
    return int(quantity[:-2]) * units[quantity[-2:]]


def weak_database(manifests: Manifests) -> list[str]:
    """The app as the owner, TLS unverified, failover without quorum, evictable or unsized PostgreSQL."""
    found = []
    for cluster in of_kind(manifests, "Cluster"):
        name, spec = cluster["metadata"]["name"], cluster["spec"]
        if not spec["postgresql"].get("synchronous", {}).get("failoverQuorum"):
            found.append(f"Cluster/{name}: failover without a quorum check")
        resources = spec.get("resources", {})
        requests, limits = resources.get("requests", {}), resources.get("limits", {})
        if not limits or any(requests.get(k) != limits.get(k) for k in ("cpu", "memory")):
            found.append(f"Cluster/{name}: not Guaranteed QoS")
        elif (
            spec["postgresql"].get("parameters", {}).get("shared_buffers")
            != f"{_mebibytes(limits['memory']) // 4}MB"
        ):
            found.append(f"Cluster/{name}: shared_buffers not a quarter of its memory")
    owners = {c["spec"]["bootstrap"]["initdb"]["owner"] for c in of_kind(manifests, "Cluster")}
    config = {k: v for m in of_kind(manifests, "ConfigMap") for k, v in m["data"].items()}
    for where, workload, container in app_containers(manifests):
        url = _value(container, "DATABASE_URL")
        if workload["kind"] == "Job" or url is None:
            continue
        parts = urlsplit(url)
        if parts.username in owners:
            found.append(f"{where}: logs in as the database owner")
        if parse_qs(parts.query).get("sslmode") != ["verify-full"]:
            found.append(f"{where}: TLS to PostgreSQL without server verification")
    if config.get("OPTIN_DB_ROLE") and owners:
        found.append("the service relies on SET ROLE, which RESET ROLE undoes")
    return found


def fragile_probes(manifests: Manifests) -> list[str]:
    """A long-running pod without both probes, a liveness that asks the database, or a readiness
    that drops every API replica at the first seconds of a failover."""
    found = []
    for where, workload, container in app_containers(manifests):
        if workload["kind"] != "Deployment":
            continue
        for probe in ("livenessProbe", "readinessProbe"):
            if probe not in container:
                found.append(f"{where}: no {probe}")
        liveness = container.get("livenessProbe", {})
        if liveness.get("httpGet", {}).get("path") == "/ready" or "ready" in liveness.get("exec", {}).get(
            "command", []
        ):
            found.append(f"{where}: liveness depends on the database")
        readiness = container.get("readinessProbe", {})
        if (
            "httpGet" in readiness
            and readiness.get("periodSeconds", 10) * readiness.get("failureThreshold", 3) < 30
        ):
            found.append(f"{where}: readiness drops the pod within 30 s of a database gap")
    return found


def _admits(manifests: Manifests, labels: dict[str, str], port: int | str) -> bool:
    for policy in of_kind(manifests, "NetworkPolicy"):
        if policy["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items():
            for rule in policy["spec"].get("ingress", []):
                if any(p["port"] == port for p in rule.get("ports", [])):
                    return True
    return False


def unscraped_metrics(manifests: Manifests) -> list[str]:
    """A monitor whose target's port the NetworkPolicies close, or the deprecated enablePodMonitor."""
    found = []
    if of_kind(manifests, "ServiceMonitor"):
        for m in of_kind(manifests, "Deployment"):
            labels = m["spec"]["template"]["metadata"]["labels"]
            ports = {
                p["name"] for c in m["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])
            }
            if "metrics" in ports and not _admits(manifests, labels, "metrics"):
                found.append(f"Deployment/{m['metadata']['name']}: metrics port closed to Prometheus")
    for monitor in of_kind(manifests, "PodMonitor"):
        labels = monitor["spec"]["selector"]["matchLabels"]
        port = 9127 if "cnpg.io/poolerName" in labels else 9187
        if of_kind(manifests, "NetworkPolicy") and not _admits(manifests, labels, port):
            found.append(f"PodMonitor/{monitor['metadata']['name']}: port {port} closed to Prometheus")
    for cluster in of_kind(manifests, "Cluster"):
        if cluster["spec"].get("monitoring", {}).get("enablePodMonitor"):
            found.append(f"Cluster/{cluster['metadata']['name']}: the deprecated enablePodMonitor")
    return found


def open_network(manifests: Manifests, *, egress_required: bool) -> list[str]:
    """Egress to the whole internet, no lockdown where one is required, DNS that misses
    NodeLocal DNSCache, or the API open to every pod."""
    found = []
    egress = [p for p in of_kind(manifests, "NetworkPolicy") if "Egress" in p["spec"]["policyTypes"]]
    if egress_required and not egress:
        found.append("no egress lockdown")
    for policy in egress:
        rules = policy["spec"].get("egress", [])
        for rule in rules:
            for peer in rule.get("to", []):
                if peer.get("ipBlock", {}).get("cidr") in ("0.0.0.0/0", "::/0"):
                    found.append(f"NetworkPolicy/{policy['metadata']['name']}: egress to the whole internet")
        dns = [r for r in rules if any(p.get("port") == 53 for p in r.get("ports", []))]
        if not any("ipBlock" in peer for r in dns for peer in r.get("to", [])):
            found.append(f"NetworkPolicy/{policy['metadata']['name']}: DNS misses NodeLocal DNSCache")
    for policy in of_kind(manifests, "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            if any(p["port"] == "http" for p in rule.get("ports", [])) and not rule.get("from"):
                found.append(f"NetworkPolicy/{policy['metadata']['name']}: the API is open to every pod")
    return found


def unpinned_image(manifests: Manifests) -> list[str]:
    return [
        f"{where}: image {container['image']} not pinned by digest"
        for where, _, container in app_containers(manifests)
        if "@sha256:" not in container["image"]
    ]
