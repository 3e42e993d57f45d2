"""The optional witness CronJob: `audit monitor` with its own state volume, nothing else writable,
no secret and no database; off by default; refused without the ledger's public key."""

from __future__ import annotations

import pytest

from api.cli import _parser
from tests.charts.manifests import CASES, Manifest, env_of, named, of_kind, render, rendered

VKEY = "optin.example.com/v1/ledger+3f1c2a9b+AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghi="


def monitor_pod(values: dict[str, object]) -> tuple[list[Manifest], Manifest]:
    manifests = render({"monitor": {"enabled": True, "verifierKey": VKEY, **values}})
    cron = named(manifests, "CronJob", "-monitor")
    return manifests, cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]


@pytest.mark.parametrize("case", [c for c in CASES if c != "monitor"])
def test_the_monitor_is_off_unless_asked_for(case: str) -> None:
    assert of_kind(rendered(case), "CronJob") == []


def test_the_monitor_watches_the_service_with_its_own_state_volume() -> None:
    manifests, pod = monitor_pod({})
    (container,) = pod["containers"]
    args = container["args"]
    assert args[:2] == ["audit", "monitor"]
    assert args[args.index("--url") + 1] == "http://consent-optin-ledger.optin.svc:80"
    assert args[args.index("--key") + 1] == VKEY
    assert args[args.index("--state") + 1] == "/state/checkpoint.json"
    _parser().parse_args(args)  # a command the CLI accepts
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts == {"/tmp": "tmp", "/state": "state"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    claim = volumes["state"]["persistentVolumeClaim"]["claimName"]
    (pvc,) = of_kind(manifests, "PersistentVolumeClaim")
    assert pvc["metadata"]["name"] == claim
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert set(env_of(container)) == {"OPTIN_LOG_FORMAT"}  # no secret, no database
    assert named(manifests, "CronJob", "-monitor")["spec"]["concurrencyPolicy"] == "Forbid"


def test_an_existing_claim_and_url_are_used_as_given() -> None:
    manifests, pod = monitor_pod({"existingClaim": "witness-state", "url": "https://optin.example.com"})
    assert of_kind(manifests, "PersistentVolumeClaim") == []
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["state"]["persistentVolumeClaim"]["claimName"] == "witness-state"
    args = pod["containers"][0]["args"]
    assert args[args.index("--url") + 1] == "https://optin.example.com"


def test_the_monitor_needs_the_public_key() -> None:
    with pytest.raises(Exception, match="verifierKey"):
        render({"monitor": {"enabled": True}})


@pytest.mark.parametrize("case", CASES)
def test_the_signing_key_reaches_the_app_from_the_keys_secret_when_present(case: str) -> None:
    api = named(rendered(case), "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    ref = env_of(api)["OPTIN_SIGNING_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref["key"] == "OPTIN_SIGNING_KEY" and ref["optional"] is True
