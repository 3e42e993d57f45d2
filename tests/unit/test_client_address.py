"""Which address is the client's: the peer's, or the one our trusted proxies forwarded."""

from __future__ import annotations

import pytest

from adapters.settings import SettingsError, load_settings
from api.client_address import Proxies

INGRESS = Proxies(["10.0.0.0/8", "fd00::/8"])


def test_an_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert INGRESS.client("198.51.100.9", ["203.0.113.1"]) == "198.51.100.9"
    assert Proxies([]).client("127.0.0.1", ["203.0.113.1"]) == "127.0.0.1"


def test_a_trusted_peer_names_the_nearest_address_that_is_not_ours() -> None:
    assert INGRESS.client("10.1.2.3", ["203.0.113.1"]) == "203.0.113.1"
    # The visitor's own claim (leftmost) is not believed; the proxy chain is walked from the right.
    assert INGRESS.client("10.1.2.3", ["1.1.1.1, 203.0.113.1, 10.9.9.9"]) == "203.0.113.1"
    assert INGRESS.client("10.1.2.3", ["1.1.1.1", "203.0.113.1"]) == "203.0.113.1"  # repeated headers


def test_odd_chains() -> None:
    assert INGRESS.client("10.1.2.3", []) == "10.1.2.3"  # nothing forwarded: the proxy itself
    assert INGRESS.client("10.1.2.3", ["10.4.4.4"]) == "10.4.4.4"  # only our hops: the farthest
    assert INGRESS.client("10.1.2.3", ["203.0.113.1, garbage"]) == "10.1.2.3"  # unreadable: stop
    assert INGRESS.client("fd00::1", ["2001:db8::5"]) == "2001:db8::5"
    assert INGRESS.client("::ffff:10.1.2.3", ["[2001:db8::6]"]) == "2001:db8::6"  # IPv4-mapped peer


def test_the_setting_takes_cidrs_and_refuses_anything_else() -> None:
    base = {"OPTIN_DATA_DIR": "/tmp/x"}
    assert load_settings({**base}).trusted_proxies == ()
    found = load_settings({**base, "OPTIN_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7 fd00::/8"})
    assert found.trusted_proxies == ("10.0.0.0/8", "192.168.1.7/32", "fd00::/8")
    with pytest.raises(SettingsError, match="OPTIN_TRUSTED_PROXIES"):
        load_settings({**base, "OPTIN_TRUSTED_PROXIES": "ingress-nginx"})
