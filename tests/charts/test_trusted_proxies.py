"""Behind the chart's ingress the API learns each visitor's address from the ingress controller,
and from nobody else (OPTIN_TRUSTED_PROXIES, issue 15 item 6)."""

from __future__ import annotations

from collections.abc import Sequence

import helm_python as helm
import pytest

from tests.charts.manifests import CASES, Manifest, load_values, named, of_kind, render, rendered


def settings_of(manifests: Sequence[Manifest]) -> tuple[str, dict[str, str]]:
    """The name and data of the ConfigMap of settings."""
    (config,) = of_kind(manifests, "ConfigMap")
    return config["metadata"]["name"], config["data"]


INGRESS_CASES = [c for c in CASES if (load_values(c) or {}).get("ingress", {}).get("enabled")]


@pytest.mark.parametrize("case", INGRESS_CASES)
def test_with_the_ingress_the_api_trusts_its_controller_pods(case: str) -> None:
    values = load_values(case)
    assert values is not None
    proxies = values["ingress"]["trustedProxies"]
    manifests = rendered(case)
    name, data = settings_of(manifests)
    assert proxies
    assert data["OPTIN_TRUSTED_PROXIES"] == ",".join(proxies)
    api = named(manifests, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]
    assert {"configMapRef": {"name": name}} in api["envFrom"]


def test_without_a_proxy_nobody_is_trusted() -> None:
    assert "OPTIN_TRUSTED_PROXIES" not in settings_of(rendered("defaults"))[1]


def test_an_ingress_without_trusted_proxies_does_not_render() -> None:
    with pytest.raises((helm.HelmError, helm.HelmValuesError), match=r"ingress\.trustedProxies"):
        render({"ingress": {"enabled": True}})


def test_the_whole_internet_is_never_a_trusted_proxy() -> None:
    with pytest.raises((helm.HelmError, helm.HelmValuesError)):
        render({"ingress": {"enabled": True, "trustedProxies": ["0.0.0.0/0"]}})
