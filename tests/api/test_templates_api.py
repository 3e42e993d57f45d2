"""Templates over HTTP: defaults from the first start, the opt-out rule, versions, previews."""

from __future__ import annotations

import pytest

from ledger.default_templates import DEFAULTS
from tests.api.channels import Client, program
from tests.api.conftest import AuthHeaders

pytestmark = pytest.mark.integration


async def test_every_kind_and_channel_has_a_default_from_the_first_start(
    client: Client, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    head = (await client.get("/ready")).json()["ledger_position"]
    listed = await client.get("/v1/templates", params={"min_position": head}, headers=staff)
    assert listed.status_code == 200, listed.text
    defaults = {(t["kind"], t["channel"]) for t in listed.json() if t["is_default"]}
    assert defaults == set(DEFAULTS)
    as_service = await client.get("/v1/templates", headers=await auth_headers("service"))
    assert as_service.status_code == 200  # applications learn each template's variables
    assert all("variables" in t for t in as_service.json())


async def test_a_promotional_template_without_opt_out_wording_is_refused(
    client: Client, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    for channel, subject, body in (
        ("sms", None, "Big sale today!"),
        ("email", "Sale", "<p>Big sale today!</p>"),
    ):
        refused = await client.post(
            "/v1/templates",
            json={
                "name": "Sale",
                "kind": "promotional",
                "channel": channel,
                "subject": subject,
                "body": body,
            },
            headers=staff,
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    made = await client.post(
        "/v1/templates",
        json={
            "name": "Sale",
            "kind": "promotional",
            "channel": "sms",
            "body": "Sale! Reply STOP to opt out.",
        },
        headers=staff,
    )
    assert made.status_code == 201, made.text
    removed = await client.patch(
        f"/v1/templates/{made.json()['id']}", json={"body": "Sale! No way out."}, headers=staff
    )
    assert removed.status_code == 422  # a revision may not drop the wording either


async def test_a_change_is_a_new_version_and_a_program_has_one_template_per_kind(
    client: Client, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    optin = await program(client, staff, ["sms"])
    body = {"name": "Promo", "kind": "promotional", "channel": "sms", "optin_id": optin}
    made = await client.post(
        "/v1/templates", json={**body, "body": "{{ deal }}! Reply STOP to end."}, headers=staff
    )
    assert made.status_code == 201, made.text
    assert made.json()["variables"] == ["deal"]
    again = await client.post("/v1/templates", json={**body, "body": "Other. Reply STOP."}, headers=staff)
    assert again.status_code == 409
    changed = await client.patch(
        f"/v1/templates/{made.json()['id']}",
        json={"body": "Now {{ deal }}. Reply STOP to end."},
        headers=staff,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    position = changed.headers["ledger-position"]
    read = await client.get(f"/v1/templates/{made.json()['id']}?min_position={position}", headers=staff)
    assert read.json()["version"] == 2
    email = await client.post(
        "/v1/templates", json={**body, "channel": "email", "subject": "x"}, headers=staff
    )
    assert email.status_code == 422  # the program has no email channel


async def test_preview_shows_segments_escapes_html_and_needs_every_variable(
    client: Client, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    draft = {
        "kind": "transactional",
        "channel": "sms",
        "body": "Hi {{ name }}, your order {{ order }} ships €",
    }
    missing = await client.post(
        "/v1/templates/preview", json={**draft, "variables": {"name": "Ann"}}, headers=staff
    )
    assert missing.status_code == 422, missing.text
    assert "order" in missing.json()["detail"]
    filled = await client.post(
        "/v1/templates/preview",
        json={**draft, "variables": {"name": "Ann"}, "fill_missing": True},
        headers=staff,
    )
    assert filled.status_code == 200, filled.text
    assert filled.json()["missing"] == ["order"]
    sms = filled.json()["rendered"]["sms"]
    assert sms["encoding"] == "GSM-7" and sms["segments"] == 1
    html = await client.post(
        "/v1/templates/preview",
        json={
            "kind": "promotional",
            "channel": "email",
            "subject": "Hi",
            "body": "<p>{{ name }}</p>",
            "variables": {"name": "<b>Ann</b>"},
        },
        headers=staff,
    )
    assert html.status_code == 200, html.text
    assert html.json()["rendered"]["html"] == "<p>&lt;b&gt;Ann&lt;/b&gt;</p>"
    assert any("unsubscribe_url" in p for p in html.json()["problems"])
