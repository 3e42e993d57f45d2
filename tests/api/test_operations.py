"""Operations endpoints and the error contract, over the ASGI interface."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from ledger.default_templates import DEFAULTS

pytestmark = pytest.mark.integration


async def test_health_ready_and_schema_answer(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["database"] == "ok"
    assert body["ledger_position"] == len(DEFAULTS)  # the default templates, recorded at start-up
    assert set(body["projection_lag"]) >= {"optins"}
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/health" in schema.json()["paths"]
    assert (await client.get("/schema")).status_code == 200
    swagger = await client.get("/schema/swagger")
    assert swagger.status_code == 200 and "https://" not in swagger.text  # served here, not from a CDN


async def test_unknown_routes_get_problem_details(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404


async def test_every_response_carries_a_request_id(client: AsyncTestClient[Litestar]) -> None:
    given = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    fresh = await client.get("/health")
    assert len(fresh.headers["x-request-id"]) == 32
