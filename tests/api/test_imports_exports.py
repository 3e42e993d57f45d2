"""Import and export over HTTP: a file with bad rows changes nothing and names its lines; a good
one applies once; exports are masked, say "imported", and reveal addresses only to an admin,
which the ledger records."""

from __future__ import annotations

import json

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import pii
from tests.api.conftest import AuthHeaders

HEADER = "address,channel,program,status,when,source,evidence\n"


async def test_import_then_export(client: AsyncTestClient[Litestar], auth_headers: AuthHeaders) -> None:
    staff, auditor, admin = (
        await auth_headers("staff"),
        await auth_headers("auditor"),
        await auth_headers("admin"),
    )
    made = await client.post(
        "/v1/optins",
        json={
            "name": "Weekly offers",
            "purpose": "marketing",
            "channels": ["email", "sms"],
            "disclosure": "d",
        },
        headers=staff,
    )
    optin, created = made.json()["id"], {"min_position": made.headers["ledger-position"]}
    a, b = pii.email(), pii.phone()
    good = (
        HEADER
        + f"{a},email,{optin},opted_in,2024-05-01T10:00:00Z,web form,ticked the box\n"
        + f"{b},sms,Weekly offers,opted_out,2024-05-02T10:00:00Z,call centre,\n"
    )
    csv_type = {"content-type": "text/csv"}
    bad = good + "nobody,email,Weekly offers,opted_in,2024-05-01T10:00:00Z,web,x\n"
    refused = await client.post("/v1/imports", params=created, content=bad, headers=staff | csv_type)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [p["line"] for p in refused.json()["problems"]] == [4], refused.text
    assert a not in refused.text and b not in refused.text

    dry = await client.post("/v1/imports", params={"dry_run": "true"}, content=good, headers=staff | csv_type)
    assert dry.status_code == 200 and dry.json()["outcomes"] == {"opted_in": 1, "opted_out": 1}
    assert dry.json()["applied"] is False

    done = await client.post("/v1/imports", content=good, headers=staff | csv_type)
    assert done.status_code == 200, done.text
    assert done.json()["applied"] and done.json()["outcomes"] == {"opted_in": 1, "opted_out": 1}
    position = done.headers["ledger-position"]
    again = await client.post("/v1/imports", content=good, headers=staff | csv_type)
    assert again.json()["outcomes"] == {"already_imported": 2}

    export = await client.get(
        "/v1/exports/consent", params={"optin_id": optin, "min_position": position}, headers=auditor
    )
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.text.strip().splitlines()
    assert lines[0].startswith("contact_id,address,channel,status")
    assert len(lines) == 3 and a not in export.text and b not in export.text
    assert any(",opted_in," in line and ",imported," in line for line in lines[1:])

    ndjson = await client.get(
        "/v1/exports/consent", params={"optin_id": optin, "format": "ndjson"}, headers=auditor
    )
    records = [json.loads(line) for line in ndjson.text.splitlines()]
    assert {r["status"] for r in records} == {"opted_in", "opted_out"}
    assert all("*" in r["address"] for r in records)

    denied = await client.get(
        "/v1/exports/consent", params={"optin_id": optin, "addresses": "true"}, headers=auditor
    )
    assert denied.status_code == 403
    revealed = await client.get(
        "/v1/exports/consent", params={"optin_id": optin, "addresses": "true"}, headers=admin
    )
    assert revealed.status_code == 200 and a in revealed.text
    audit = await client.get(
        "/v1/audit/events",
        params={
            "after": int(revealed.headers["ledger-position"]) - 1,
            "min_position": revealed.headers["ledger-position"],
        },
        headers=admin,
    )
    assert "export.addresses_revealed" in audit.text


async def test_bad_import_requests_are_4xx(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    wrong_type = await client.post("/v1/imports", content="x", headers=staff | {"content-type": "image/png"})
    assert wrong_type.status_code == 415
    empty_header = await client.post(
        "/v1/imports", content="a,b\n1,2\n", headers=staff | {"content-type": "text/csv"}
    )
    assert empty_header.status_code == 422 and empty_header.json()["problems"][0]["line"] == 1
    missing = await client.get(
        "/v1/exports/consent", params={"optin_id": "00000000-0000-0000-0000-000000000000"}, headers=staff
    )
    assert missing.status_code == 403  # staff may not export; auditors and admins may
