"""Webhook endpoints over HTTP: an application registers its own, sees the secret once, rotates
it, reads the delivery log, removes it; it cannot touch another application's; bad input is a 4xx."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import AuthHeaders


async def test_an_application_manages_its_own_endpoints(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders
) -> None:
    app, other = await auth_headers("service"), await auth_headers("service")
    created = await client.post(
        "/v1/webhook-endpoints",
        json={"url": "https://hooks.example.org/in", "events": ["consent.changed", "message.status"]},
        headers=app,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and int(created.headers["ledger-position"]) > 0
    endpoint_id = body["id"]
    listed = await client.get(
        "/v1/webhook-endpoints", params={"min_position": created.headers["ledger-position"]}, headers=app
    )
    assert [e["id"] for e in listed.json()] == [endpoint_id]
    assert "secret" not in listed.json()[0]
    assert (await client.get("/v1/webhook-endpoints", headers=other)).json() == []
    # Another application can neither rotate nor remove it.
    assert (
        await client.post(f"/v1/webhook-endpoints/{endpoint_id}/rotate", json={}, headers=other)
    ).status_code == 404
    assert (await client.delete(f"/v1/webhook-endpoints/{endpoint_id}", headers=other)).status_code == 404
    rotated = await client.post(
        f"/v1/webhook-endpoints/{endpoint_id}/rotate", json={"overlap_seconds": 3600}, headers=app
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] != body["secret"] and rotated.json()["previous_secret_until"]
    log = await client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=app)
    assert log.status_code == 200 and log.json() == []
    assert (await client.delete(f"/v1/webhook-endpoints/{endpoint_id}", headers=app)).status_code == 200
    assert (await client.delete(f"/v1/webhook-endpoints/{endpoint_id}", headers=app)).status_code == 404


async def test_bad_endpoints_are_refused_with_a_problem(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders
) -> None:
    app = await auth_headers("service")
    for data in (
        {"url": "ftp://example.org/x", "events": ["consent.changed"]},
        {"url": "https://user:pw@example.org/x", "events": ["consent.changed"]},
        {"url": "https://example.org/x", "events": ["consent.granted"]},
        {"url": "https://example.org/x", "events": []},
        {"url": "https://example.org/x", "events": ["consent.changed"], "extra": 1},
    ):
        answer = await client.post("/v1/webhook-endpoints", json=data, headers=app)
        assert 400 <= answer.status_code < 500, (data, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    too_long = await client.post(
        "/v1/webhook-endpoints/00000000-0000-0000-0000-000000000000/rotate",
        json={"overlap_seconds": 10**9},
        headers=app,
    )
    assert too_long.status_code in (400, 422)
