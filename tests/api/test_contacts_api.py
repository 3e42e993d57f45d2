"""The contacts API over HTTP: strict input, masked output, idempotent registration, erasure."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests import pii

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]


async def register(client: Client, h: dict[str, str], channel: str, address: str) -> dict[str, Any]:
    response = await client.post("/v1/contacts", json={"channel": channel, "address": address}, headers=h)
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    body["position"] = int(response.headers["ledger-position"])
    return body


async def test_register_is_idempotent_and_masked(client: Client, as_admin: dict[str, str]) -> None:
    email = pii.email()
    first = await register(client, as_admin, "email", email)
    again = await register(client, as_admin, "email", email.upper())
    assert first["id"] == again["id"]
    assert (first["created"], again["created"]) == (True, False)
    assert first["address"].startswith(email[0] + "***@")
    assert email not in str(first)

    got = await client.get(
        f"/v1/contacts/{first['id']}", params={"min_position": first["position"]}, headers=as_admin
    )
    assert got.status_code == 200
    assert got.json()["address"] == first["address"]
    assert set(got.json()) == {"id", "channel", "address", "created_at", "last_activity_at"}


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "email", "address": "a@example.com", "name": "Ann"},
        {"channel": "email", "address": "a@example.com", "phone": "+14155550100"},
        {"email": "a@example.com", "phone": "+14155550100"},
        {"channel": "fax", "address": "a@example.com"},
        {"channel": "email"},
    ],
)
async def test_anything_but_one_channel_and_one_address_is_refused(
    client: Client, body: dict[str, str], as_admin: dict[str, str]
) -> None:
    response = await client.post("/v1/contacts", json=body, headers=as_admin)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_invalid_address_is_a_422_that_does_not_echo_it(
    client: Client, as_admin: dict[str, str]
) -> None:
    bad = pii.remember("not-an-email-but-close@")
    response = await client.post("/v1/contacts", json={"channel": "email", "address": bad}, headers=as_admin)
    assert response.status_code == 422
    assert bad not in response.text
    malformed = await client.post(
        "/v1/contacts", content=b"{not json", headers={**as_admin, "content-type": "application/json"}
    )
    assert malformed.status_code == 400


async def test_list_filters_paginates_and_searches_by_exact_address(
    client: Client, as_admin: dict[str, str]
) -> None:
    phone = pii.phone()
    made = [await register(client, as_admin, "email", pii.email()) for _ in range(3)]
    sms = await register(client, as_admin, "sms", phone)
    last = sms["position"]
    page = await client.get("/v1/contacts", params={"limit": 2, "min_position": last}, headers=as_admin)
    body = page.json()
    assert len(body["items"]) == 2
    rest = await client.get(
        "/v1/contacts", params={"limit": 2, "cursor": body["next_cursor"]}, headers=as_admin
    )
    ids = [c["id"] for c in body["items"] + rest.json()["items"]]
    assert ids == [c["id"] for c in made] + [sms["id"]]
    assert rest.json()["next_cursor"] is None
    only_sms = await client.get("/v1/contacts", params={"channel": "sms"}, headers=as_admin)
    assert [c["id"] for c in only_sms.json()["items"]] == [sms["id"]]
    found = await client.get("/v1/contacts", params={"address": phone}, headers=as_admin)
    assert [c["id"] for c in found.json()["items"]] == [sms["id"]]
    assert pii.leaks(page.text + rest.text + found.text) == []
    bad_cursor = await client.get("/v1/contacts", params={"cursor": "zz"}, headers=as_admin)
    assert bad_cursor.status_code in (400, 422)


async def test_timeline_then_erasure(client: Client, as_admin: dict[str, str]) -> None:
    contact = await register(client, as_admin, "email", pii.email())
    timeline = await client.get(
        f"/v1/contacts/{contact['id']}/timeline",
        params={"min_position": contact["position"]},
        headers=as_admin,
    )
    assert [e["topic"] for e in timeline.json()["items"]] == ["contact.registered"]
    erased = await client.delete(f"/v1/contacts/{contact['id']}", headers=as_admin)
    assert erased.status_code == 200
    position = erased.headers["ledger-position"]
    gone = await client.get(
        f"/v1/contacts/{contact['id']}", params={"min_position": position}, headers=as_admin
    )
    assert gone.status_code == 404
    assert (await client.get(f"/v1/contacts/{contact['id']}/timeline", headers=as_admin)).status_code == 404
    assert (await client.delete(f"/v1/contacts/{contact['id']}", headers=as_admin)).status_code == 404


async def test_nothing_is_open_without_credentials(client: Client) -> None:
    assert (await client.get("/v1/contacts")).status_code == 401
    assert (
        await client.post("/v1/contacts", json={"channel": "email", "address": "x@y.org"})
    ).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await client.get("/v1/contacts", headers=wrong)).status_code == 401
