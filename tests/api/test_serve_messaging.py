"""The embedded demo sends without providers: a code lands in the dev outbox that
`optin-ledger outbox` shows, and the default templates exist from the first start."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.commands.users import DEMO_ADMIN_EMAIL
from ledger.default_templates import DEFAULTS
from tests import pii
from tests.api.test_serve import free_port, start, stop, wait_healthy

pytestmark = pytest.mark.integration


def test_the_demo_sends_codes_to_the_dev_outbox_and_has_the_default_templates(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(data_dir, port)
    try:
        wait_healthy(url, proc)
        asked = httpx.post(
            url + "/v1/public/verifications", json={"channel": "email", "address": pii.email()}
        )
        assert asked.status_code == 202, asked.text
        # The demo admin, the defaults, then the contact, its code, and the code's message
        # (requested, queued, sent: recorded once the dev sender has it).
        expected = len(DEFAULTS) + 1 + 1 + 1 + 3
        deadline = time.monotonic() + 20
        while httpx.get(url + "/ready").json()["ledger_position"] < expected:
            assert time.monotonic() < deadline, "the code was not sent"
            time.sleep(0.2)
    finally:
        out = stop(proc)
    password = re.search(r"Demo admin \(shown once\): email \S+\s+password (\S+)", out)
    assert password, out

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "OPTIN_"))}
    shown = subprocess.run(
        [sys.executable, "-m", "api.cli", "outbox", "--data-dir", str(data_dir)],
        env={**env, "OPTIN_LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "verification_code" in shown, shown
    assert re.search(r"Your code is \d{6}\.", shown), shown
    assert "p***@e***.org" in shown  # the address masked, the code in clear (dev only)

    proc = start(data_dir, port)
    try:
        wait_healthy(url, proc)
        login = httpx.post(
            url + "/v1/auth/token", data={"username": DEMO_ADMIN_EMAIL, "password": password.group(1)}
        )
        token = login.json()["access_token"]
        listed = httpx.get(url + "/v1/templates", headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200, listed.text
        assert {(t["kind"], t["channel"]) for t in listed.json() if t["is_default"]} == set(DEFAULTS)
    finally:
        stop(proc)
