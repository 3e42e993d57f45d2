"""`serve` on the embedded demo creates one demo admin, prints its password once, and it can log in."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from api.commands.users import DEMO_ADMIN_EMAIL
from tests.api.test_serve import free_port, start, stop, wait_healthy

pytestmark = pytest.mark.integration


def test_the_demo_admin_is_created_once_and_can_log_in(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "data", free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(data_dir, port)
    try:
        wait_healthy(url, proc)
    finally:
        out = stop(proc)
    match = re.search(r"Demo admin \(shown once\): email (\S+)\s+password (\S+)", out)
    assert match, out
    assert match.group(1) == DEMO_ADMIN_EMAIL
    password = match.group(2)
    logged_lines = [line for line in out.splitlines() if line.startswith("{")]
    assert logged_lines
    assert all(password not in line for line in logged_lines)  # printed for the operator, never logged

    proc = start(data_dir, port)
    try:
        wait_healthy(url, proc)
        login = httpx.post(url + "/v1/auth/token", data={"username": DEMO_ADMIN_EMAIL, "password": password})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        users = httpx.get(url + "/v1/users", headers={"Authorization": f"Bearer {token}"})
        assert [u["role"] for u in users.json()["users"]] == ["admin"]
    finally:
        out = stop(proc)
    assert "Demo admin" not in out  # shown once only
