"""What the workloads run: API probes and scaling, the leader-elected projector, one migration hook."""

from __future__ import annotations

import pytest

from api.cli import _parser
from tests.charts.manifests import CASES, Manifest, named, of_kind, pod_specs, render, rendered

HOOK = "helm.sh/hook"


def api_container(case: str) -> Manifest:
    pod = named(rendered(case), "Deployment", "-api")["spec"]["template"]["spec"]
    container: Manifest
    (container,) = pod["containers"]
    return container


@pytest.mark.parametrize("case", CASES)
def test_the_api_is_probed_on_health_and_ready(case: str) -> None:
    container = api_container(case)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe, path in (
        ("startupProbe", "/health"),
        ("livenessProbe", "/health"),
        ("readinessProbe", "/ready"),
    ):
        action = container[probe]["httpGet"]
        assert action["path"] == path
        assert action["port"] in ports
    serve = container["args"]
    assert serve[serve.index("--port") + 1] == str(ports["http"])


@pytest.mark.parametrize("case", CASES)
def test_exactly_one_migration_hook_runs_migrate_before_upgrades(case: str) -> None:
    hooks = [m for m in rendered(case) if HOOK in m["metadata"].get("annotations", {})]
    assert len(hooks) == 1
    (job,) = hooks
    assert job["kind"] == "Job"
    phases = set(job["metadata"]["annotations"][HOOK].split(","))
    # an external database exists before the release; a chart-made cluster only after install
    if of_kind(rendered(case), "Cluster"):
        assert phases == {"post-install", "pre-upgrade"}
    else:
        assert phases == {"pre-install", "pre-upgrade"}
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["migrate"]
    assert "envFrom" not in container  # the ConfigMap does not exist yet before install


def test_the_hook_is_the_same_on_an_upgrade_render() -> None:
    jobs = [m for m in render(None, install=False) if m["kind"] == "Job"]
    assert len(jobs) == 1


@pytest.mark.parametrize("case", CASES)
def test_the_projector_runs_apart_with_a_hot_standby(case: str) -> None:
    manifests = rendered(case)
    projector = named(manifests, "Deployment", "-projector")
    assert projector["spec"]["replicas"] >= 2
    (container,) = projector["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["project"]
    assert "--no-projections" in api_container(case)["args"]
    budget = named(manifests, "PodDisruptionBudget", "-projector")
    assert budget["spec"]["maxUnavailable"] == 1


def test_without_the_projector_the_api_runs_the_projections() -> None:
    manifests = render({"projector": {"enabled": False}})
    assert [m for m in of_kind(manifests, "Deployment") if m["metadata"]["name"].endswith("-projector")] == []
    api = named(manifests, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    assert "--no-projections" not in api["args"]


def test_autoscaling_owns_the_replica_count() -> None:
    manifests = rendered("ingress-hpa")
    deployment = named(manifests, "Deployment", "-api")
    (hpa,) = of_kind(manifests, "HorizontalPodAutoscaler")
    assert "replicas" not in deployment["spec"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert hpa["spec"]["minReplicas"] == 3
    assert named(manifests, "PodDisruptionBudget", "-api")["spec"]["minAvailable"] == 1


def test_a_single_api_replica_gets_no_budget_that_would_block_a_drain() -> None:
    manifests = render({"api": {"replicas": 1}})
    assert [
        m for m in of_kind(manifests, "PodDisruptionBudget") if m["metadata"]["name"].endswith("-api")
    ] == []


def test_the_ingress_routes_to_the_api_service() -> None:
    manifests = rendered("ingress-hpa")
    (ingress,) = of_kind(manifests, "Ingress")
    (service,) = of_kind(manifests, "Service")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    api_labels = named(manifests, "Deployment", "-api")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= api_labels.items()
    assert ingress["spec"]["tls"][0]["hosts"] == ["consent.example.com"]


@pytest.mark.parametrize("case", CASES)
def test_api_pods_spread_over_zones_and_nodes(case: str) -> None:
    pod = named(rendered(case), "Deployment", "-api")["spec"]["template"]
    keys = {c["topologyKey"] for c in pod["spec"]["topologySpreadConstraints"]}
    assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    for constraint in pod["spec"]["topologySpreadConstraints"]:
        assert constraint["labelSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()


@pytest.mark.parametrize("case", CASES)
def test_every_command_the_chart_runs_is_one_the_cli_accepts(case: str) -> None:
    parser = _parser()
    for where, pod in pod_specs(rendered(case)).items():
        for container in pod["containers"]:
            args = container["args"]
            assert parser.parse_args(args).command == args[0], where  # SystemExit if refused


@pytest.mark.parametrize("case", CASES)
def test_the_worker_sends_apart_and_the_api_only_queues(case: str) -> None:
    manifests = rendered(case)
    worker = named(manifests, "Deployment", "-worker")
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["worker"]
    assert "--no-worker" in api_container(case)["args"]


def test_without_the_worker_the_api_sends() -> None:
    manifests = render({"worker": {"enabled": False}})
    assert [m for m in of_kind(manifests, "Deployment") if m["metadata"]["name"].endswith("-worker")] == []
    api = named(manifests, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    assert "--no-worker" not in api["args"]


@pytest.mark.parametrize("case", CASES)
def test_the_projector_and_worker_probes_read_the_heartbeat_their_process_keeps(case: str) -> None:
    manifests = rendered(case)
    (config,) = of_kind(manifests, "ConfigMap")
    for suffix in ("-projector", "-worker"):
        (container,) = named(manifests, "Deployment", suffix)["spec"]["template"]["spec"]["containers"]
        for probe, file in (("startupProbe", "live"), ("livenessProbe", "live"), ("readinessProbe", "ready")):
            command = container[probe]["exec"]["command"]
            assert command[:4] == ["python", "-m", "adapters.heartbeat", file], suffix
            # the process beats in its data directory (adapters/heartbeat.py, settings.data_dir)
            assert command[command.index("--dir") + 1] == config["data"]["OPTIN_DATA_DIR"]


@pytest.mark.parametrize("case", CASES)
def test_every_process_serves_metrics_on_the_named_port_to_other_pods(case: str) -> None:
    for suffix in ("-api", "-projector", "-worker"):
        (container,) = named(rendered(case), "Deployment", suffix)["spec"]["template"]["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert ports["metrics"] == int(env["OPTIN_METRICS_PORT"]) == 9464
        assert env["OPTIN_METRICS_HOST"] == "0.0.0.0"  # noqa: S104 -- Prometheus scrapes the pod


def test_the_service_monitor_reaches_every_process_through_a_headless_service() -> None:
    manifests = rendered("cnpg-pooler-monitoring")
    (monitor,) = of_kind(manifests, "ServiceMonitor")
    service = named(manifests, "Service", "-metrics")
    assert service["metadata"]["labels"].items() >= monitor["spec"]["selector"]["matchLabels"].items()
    assert service["spec"]["clusterIP"] == "None"
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"] == "metrics"
    selected = [
        m["metadata"]["name"]
        for m in of_kind(manifests, "Deployment")
        if service["spec"]["selector"].items() <= m["spec"]["template"]["metadata"]["labels"].items()
    ]
    assert sorted(selected) == [
        "consent-optin-ledger-api",
        "consent-optin-ledger-projector",
        "consent-optin-ledger-worker",
    ]
