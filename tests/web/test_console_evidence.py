"""Console evidence: the contact page's "Download evidence" (recorded like the API's), and the
audit page's latest checkpoint and monitor command line."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.composition import Components
from tests import pii
from tests.web.test_console_pages import log_in
from verifier import optin_verify

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]


def cli_verify(path: Path, vkey: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "api.cli", "evidence", "verify", str(path), "--key", vkey]
    return subprocess.run(command, capture_output=True, text=True, check=False)


async def test_an_auditor_downloads_a_contacts_evidence_and_sees_the_log(
    client: Client, auth_services: Components, pool: object, as_admin: dict[str, str], tmp_path: Path
) -> None:
    made = await client.post(
        "/v1/contacts", json={"channel": "email", "address": pii.email()}, headers=as_admin
    )
    contact, position = made.json()["id"], made.headers["ledger-position"]
    await log_in(client, auth_services, pool, "auditor")
    page = await client.get(f"/console/contacts/{contact}?min_position={position}")
    assert page.status_code == 200
    link = f"/console/contacts/{contact}/evidence"
    assert f'href="{link}"' in page.text and "Download evidence" in page.text
    download = await client.get(f"{link}?min_position={position}")
    assert download.status_code == 200, download.text
    assert download.headers["content-disposition"] == f'attachment; filename="evidence-{contact}.json"'
    bundle = download.json()
    assert [e["topic"] for e in bundle["events"]] == ["contact.registered"]

    audit = await client.get("/console/audit")
    assert audit.status_code == 200
    text = html.unescape(audit.text)
    assert "Latest signed checkpoint" in text
    vkey = text.split('Public key: <span class="mono">')[1].split("</span>")[0]
    assert optin_verify.Key(vkey).name == "127.0.0.1:8000/v1/ledger"
    assert f"optin-ledger audit monitor --url http://127.0.0.1:8000 --key '{vkey}' --state" in text
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    checked = cli_verify(path, vkey)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok: 1 events" in checked.stdout


async def test_staff_may_download_evidence_too_but_not_anonymous(
    client: Client, auth_services: Components, pool: object, as_admin: dict[str, str]
) -> None:
    made = await client.post(
        "/v1/contacts", json={"channel": "email", "address": pii.email()}, headers=as_admin
    )
    contact, position = made.json()["id"], made.headers["ledger-position"]
    anonymous = await client.get(f"/console/contacts/{contact}/evidence", follow_redirects=False)
    assert anonymous.status_code in (303, 401)
    await log_in(client, auth_services, pool, "staff")
    assert (
        await client.get(f"/console/contacts/{contact}/evidence?min_position={position}")
    ).status_code == 200
