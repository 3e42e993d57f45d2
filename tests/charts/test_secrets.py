"""Secrets are referenced by name, never rendered: fake secret values never reach the output."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import helm_python as helm
import pytest

from tests.charts.manifests import CASES, CHART, env_of, load_values, merged, pod_specs, render_text, rendered

FAKE_KEK = "RkFLRS1LRUstZmFrZS1rZWstZmFrZS1rZWstZmFrZS0x"
FAKE_DB_PASSWORD = "FAKE-db-password-7c1e"
FAKE_SMTP_PASSWORD = "FAKE-smtp-password-52aa"
FAKE_SMS_TOKEN = "FAKE-sms-token-90d3"
FAKES = (FAKE_KEK, FAKE_DB_PASSWORD, FAKE_SMTP_PASSWORD, FAKE_SMS_TOKEN)

SECRET_SETTINGS = {
    "DATABASE_URL",
    "OPTIN_DB_PASSWORD",
    "OPTIN_ERASURE_LOG",
    "OPTIN_ERASURE_LOG_PASSWORD",
    "OPTIN_KEK",
    "OPTIN_INDEX_KEY",
    "OPTIN_TOKEN_KEY",
    "OPTIN_SMTP_USERNAME",
    "OPTIN_SMTP_PASSWORD",
    "OPTIN_SMS_ACCOUNT_SID",
    "OPTIN_SMS_AUTH_TOKEN",
}

# Where an operator might try to hand the chart a secret in clear.
ATTEMPTS: dict[str, dict[str, Any]] = {
    "key in the secrets block": {"secrets": {"existingSecret": "keys", "kek": FAKE_KEK}},
    "database url as a value": {
        "database": {"external": {"url": f"postgresql://app:{FAKE_DB_PASSWORD}@db.example.com/ledger"}}
    },
    "smtp password as a value": {"smtp": {"host": "smtp.example.com", "password": FAKE_SMTP_PASSWORD}},
    "sms token as a value": {"sms": {"authToken": FAKE_SMS_TOKEN}},
    "secret setting via extraEnv": {"extraEnv": [{"name": "OPTIN_KEK", "value": FAKE_KEK}]},
    "database url via extraEnv": {
        "extraEnv": [{"name": "DATABASE_URL", "value": f"postgresql://app:{FAKE_DB_PASSWORD}@db/ledger"}]
    },
    "top-level stray": {"OPTIN_SMS_AUTH_TOKEN": FAKE_SMS_TOKEN},
}


@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_values_carrying_a_secret_are_refused_without_echoing_it(attempt: str) -> None:
    with pytest.raises(helm.HelmValuesError) as refused:
        render_text(ATTEMPTS[attempt])
    assert not any(fake in str(refused.value) for fake in FAKES)


def test_even_without_the_schema_no_template_reads_a_secret_value(tmp_path: Path) -> None:
    """Second line of defence: the templates never consume secret-looking keys at all.

    `extraEnv` is the exception by design (it is rendered as given), which is why the schema
    refuses the secret setting names there; it is left out of this merge.
    """
    chart = tmp_path / "optin-ledger"
    shutil.copytree(CHART, chart)
    (chart / "values.schema.json").unlink()
    values: dict[str, Any] = {}
    for name, attempt in ATTEMPTS.items():
        if "extraEnv" not in name:
            values = merged(values, attempt)
    with helm.Chart.load(chart) as unguarded:
        text = "\n".join(unguarded.render(values, name="consent", namespace="optin").values())
    assert "name: keys" in text  # the merged values did reach the templates
    assert not any(fake in text for fake in FAKES)


@pytest.mark.parametrize("case", CASES)
def test_no_secret_object_and_secret_settings_only_by_reference(case: str) -> None:
    manifests = rendered(case)
    assert [m for m in manifests if m["kind"] == "Secret"] == []
    for config_map in (m for m in manifests if m["kind"] == "ConfigMap"):
        assert SECRET_SETTINGS.isdisjoint(config_map["data"])
    for where, pod in pod_specs(manifests).items():
        for container in pod["containers"]:
            for name, entry in env_of(container).items():
                if name in SECRET_SETTINGS and "value" in entry:
                    # a URL built by Kubernetes from a password variable defined before it
                    password = urlsplit(entry["value"]).password or ""
                    reference = re.fullmatch(r"\$\((\w+)\)", password)
                    assert reference, f"{where}: {name} in clear"
                    defined_before = list(env_of(container))[: list(env_of(container)).index(name)]
                    assert reference[1] in defined_before, where
                    assert set(env_of(container)[reference[1]]["valueFrom"]) == {"secretKeyRef"}, where
                elif name in SECRET_SETTINGS:
                    assert set(entry["valueFrom"]) == {"secretKeyRef"}, where


@pytest.mark.parametrize("case", CASES)
def test_every_long_running_container_gets_all_three_keys(case: str) -> None:
    for where, pod in pod_specs(rendered(case)).items():
        if where.startswith("Job/"):
            continue  # migrations need only the database
        env = env_of(pod["containers"][0])
        assert {"DATABASE_URL", "OPTIN_KEK", "OPTIN_INDEX_KEY", "OPTIN_TOKEN_KEY"} <= set(env), where


def secrets_referenced(manifests: tuple[dict[str, Any], ...]) -> set[str]:
    """Every Secret the rendered objects name: env references, volumes, the backup credentials,
    the service role's password, the Ingress certificates."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if (
                    key in ("secretKeyRef", "passwordSecret", "accessKeyId", "secretAccessKey")
                    and "name" in value
                ):
                    names.add(value["name"])
                elif key == "secret" and "secretName" in value:
                    names.add(value["secretName"])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for manifest in manifests:
        walk(manifest.get("spec", {}))
        if manifest["kind"] == "Ingress":
            names.update(t["secretName"] for t in manifest["spec"].get("tls", []))
    return names


@pytest.mark.parametrize("case", CASES)
def test_the_notes_name_every_secret_the_release_reads(case: str) -> None:
    with helm.Chart.load(CHART) as chart:
        files = chart.render(load_values(case), name="consent", namespace="optin")
    (notes,) = [text for name, text in files.items() if name.endswith("NOTES.txt")]
    referenced = secrets_referenced(rendered(case))
    assert referenced, case
    assert [name for name in sorted(referenced) if name not in notes] == []


def test_the_chart_readme_names_every_kind_of_secret() -> None:
    readme = (CHART / "README.md").read_text()
    every = set().union(*(secrets_referenced(rendered(case)) for case in CASES))
    suffixes = {
        name.removeprefix("consent-optin-ledger") for name in every if name.startswith("consent-optin-ledger")
    }
    for suffix in suffixes:
        assert f"<fullname>{suffix}" in readme, suffix
    for key in (
        "ACCESS_KEY_ID",
        "OPTIN_SMTP_PASSWORD",
        "OPTIN_SMS_AUTH_TOKEN",
        "MIGRATION_DATABASE_URL",
        "tls.crt",
    ):
        assert key in readme
