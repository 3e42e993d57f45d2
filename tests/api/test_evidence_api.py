"""A contact's evidence bundle and receipts over HTTP, checked by the standalone verifier run as a
separate program (python3 verifier/optin_verify.py), and receipts by PyJWT too."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.settings import Settings
from api.auth.tokens import issue_contact_token
from tests import pii
from tests.api.conftest import AuthHeaders
from tests.api.test_consent_flow import ask, program
from tests.codes import latest_code
from verifier import optin_verify

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]
VERIFIER = Path(optin_verify.__file__)
DISCLOSURE = "Weekly offers by email or SMS. Reply STOP to stop."


async def history(
    client: Client, pool: asyncpg.Pool, settings: Settings, admin: dict[str, str]
) -> dict[str, Any]:
    """A contact who opted in with a code, then opted out through staff (with a reason)."""
    assert settings.kek and settings.index_key
    optin = await program(client, admin)
    address = pii.email()
    asked = await ask(client, admin, optin, address)
    code = await latest_code(pool, settings.kek, settings.index_key, asked["contact_id"])
    confirmed = await client.post(
        f"/v1/verifications/{asked['verification_id']}/confirm", json={"code": code}
    )
    assert confirmed.status_code == 200, confirmed.text
    out = await client.post(
        "/v1/consent-requests",
        json={
            "optin_id": optin,
            "action": "opt_out",
            "contact_id": asked["contact_id"],
            "source": "admin",
            "reason": "asked by phone",
        },
        headers=admin,
    )
    assert out.status_code in (200, 202), out.text
    return {
        "contact": asked["contact_id"],
        "optin": optin,
        "address": address,
        "position": out.headers["ledger-position"],
    }


async def export(
    client: Client, contact: str, headers: dict[str, str], position: str = "0"
) -> dict[str, Any]:
    response = await client.get(f"/v1/contacts/{contact}/evidence?min_position={position}", headers=headers)
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    return dict(response.json())


def run_verifier(
    tmp_path: Path, document: dict[str, Any] | str, vkey: str
) -> subprocess.CompletedProcess[str]:
    """The verifier file on its own, by path, as an auditor who copied it out would run it."""
    path = tmp_path / "evidence.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return subprocess.run(
        [sys.executable, str(VERIFIER), str(path), "--key", vkey], capture_output=True, text=True, check=False
    )


async def test_a_bundle_verifies_offline_and_tells_the_history(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str], tmp_path: Path
) -> None:
    made = await history(client, pool, settings, as_admin)
    bundle = await export(client, made["contact"], as_admin, made["position"])
    vkey = (await client.get("/v1/ledger/key")).text.strip()
    result = run_verifier(tmp_path, bundle, vkey)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith("ok: ")
    assert "OPTED IN" in out and "OPTED OUT" in out and "code confirmed" in out
    assert DISCLOSURE in out and "asked by phone" in out and "pytest-agent/1.0" in out
    assert made["address"] in out  # opened with the data key: the ciphertext that was hashed
    assert "Weekly offers / email: OPTED OUT since" in out
    assert [d["text"] for d in bundle["disclosures"]] == [DISCLOSURE]


async def test_every_export_is_recorded_with_who_asked(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    as_admin: dict[str, str],
    auth_headers: AuthHeaders,
) -> None:
    made = await history(client, pool, settings, as_admin)
    auditor = await auth_headers("auditor")
    first = await client.get(
        f"/v1/contacts/{made['contact']}/evidence?min_position={made['position']}", headers=auditor
    )
    position = first.headers["ledger-position"]
    second = await export(client, made["contact"], auditor, position)
    exported = [e for e in second["events"] if e["topic"] == "evidence.exported"]
    assert len(exported) == 1
    state = json.loads(base64.b64decode(exported[0]["state"]))
    assert state["actor"]["kind"] == "user" and state["contact_id"] == made["contact"]
    assert state["events"] == len(first.json()["events"])


async def test_an_erased_contacts_bundle_still_verifies_with_the_personal_fields_erased(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str], tmp_path: Path
) -> None:
    made = await history(client, pool, settings, as_admin)
    erased = await client.delete(f"/v1/contacts/{made['contact']}", headers=as_admin)
    assert erased.status_code in (200, 204), erased.text
    bundle = await export(client, made["contact"], as_admin, erased.headers.get("ledger-position", "0"))
    assert bundle["data_key"] is None
    result = run_verifier(tmp_path, bundle, (await client.get("/v1/ledger/key")).text.strip())
    assert result.returncode == 0, result.stdout
    assert "ERASED" in result.stdout and "(erased)" in result.stdout
    assert made["address"] not in result.stdout


async def test_an_edited_bundle_fails_naming_the_event(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str], tmp_path: Path
) -> None:
    made = await history(client, pool, settings, as_admin)
    bundle = await export(client, made["contact"], as_admin, made["position"])
    vkey = (await client.get("/v1/ledger/key")).text.strip()
    granted = next(e for e in bundle["events"] if e["topic"] == "consent.granted")
    state = json.loads(base64.b64decode(granted["state"]))
    state["evidence"]["source"] = "import" if state["evidence"]["source"] != "import" else "web"
    granted["state"] = base64.b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()
    result = run_verifier(tmp_path, bundle, vkey)
    assert result.returncode == 1
    assert f"FAILED: event at position {granted['position']} (consent.granted)" in result.stdout


async def test_unknown_contacts_have_no_evidence(client: Client, as_admin: dict[str, str]) -> None:
    response = await client.get(
        "/v1/contacts/00000000-0000-4000-8000-000000000000/evidence", headers=as_admin
    )
    assert response.status_code == 404


async def test_a_contact_gets_a_signed_receipt_per_opt_in_and_opt_out(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str], tmp_path: Path
) -> None:
    made = await history(client, pool, settings, as_admin)
    token = issue_contact_token(settings.token_key, made["contact"])
    response = await client.get(
        f"/v1/public/me/receipts?min_position={made['position']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    receipts = response.json()
    assert [r["event"] for r in receipts] == ["consent.granted", "consent.withdrawn"]
    vkey = (await client.get("/v1/ledger/key")).text.strip()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(vkey.split("+", 2)[2])[1:])
    for receipt in receipts:
        claims = jwt.decode(receipt["jws"], key=public, algorithms=["EdDSA"])  # PyJWT, not ours
        assert claims == receipt["receipt"]
        assert claims["version"] == "KI-CR-v1.1.0"
        assert claims["piiPrincipalId"] == made["contact"]
        assert claims["services"][0]["service"] == "Weekly offers"
        assert {"jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID", "piiControllers",
                "policyUrl", "services", "sensitive", "spiCat", "language"} <= claims.keys()  # fmt: skip
        result = run_verifier(tmp_path, receipt["jws"], vkey)
        assert result.returncode == 0, result.stdout
        assert f"at position {claims['ledgerPosition']}" in result.stdout
    again = await client.get("/v1/public/me/receipts", headers={"Authorization": f"Bearer {token}"})
    assert [r["jws"] for r in again.json()] == [r["jws"] for r in receipts]  # derived, deterministic
    forged = receipts[0]["jws"][:-4] + ("AAAA" if not receipts[0]["jws"].endswith("AAAA") else "BBBB")
    assert run_verifier(tmp_path, forged, vkey).returncode == 1
