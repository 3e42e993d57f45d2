"""Bad input to the auth, users and audit endpoints gets a clear 4xx problem, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import AuthHeaders

pytestmark = pytest.mark.integration


async def test_malformed_requests_get_4xx_problems(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders
) -> None:
    admin = await auth_headers("admin")
    some_id = "00000000-0000-4000-8000-000000000001"
    attempts: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("POST", "/v1/auth/token", {"json": {"username": "a@b.co", "password": "x"}}, {}),
        ("POST", "/v1/auth/token", {"data": {"username": "a@b.co", "password": "p" * 5000}}, {}),
        ("POST", "/v1/auth/token", {"data": {"username": "\x00@b.co", "password": "x"}}, {}),
        ("GET", "/v1/users", {}, {"Authorization": "Bearer olk_"}),
        ("GET", "/v1/users", {}, {"Authorization": "Bearer"}),
        ("GET", "/v1/users", {}, {"Authorization": "Bearer a.b.c"}),
        ("PATCH", f"/v1/users/{some_id}", {"json": {"disabled": "yes"}}, admin),
        ("PATCH", f"/v1/users/{some_id}", {"json": {"password": "tiny"}}, admin),
        ("PATCH", "/v1/users/not-a-uuid", {"json": {"disabled": True}}, admin),
        ("POST", f"/v1/users/{some_id}/api-keys", {}, admin),
        ("DELETE", f"/v1/users/{some_id}/api-keys/{some_id}", {}, admin),
        ("POST", "/v1/users", {"json": ["not", "an", "object"]}, admin),
        ("POST", "/v1/users", {"json": {"email": "x" * 300 + "@a.co", "role": "staff"}}, admin),
        ("GET", "/v1/users?after=nope", {}, admin),
        ("GET", "/v1/audit/events?after=-1", {}, admin),
        ("GET", "/v1/audit/events?limit=100000", {}, admin),
        ("GET", "/v1/audit/export?after=abc", {}, admin),
    ]
    for method, path, body, headers in attempts:
        response = await client.request(method, path, headers=headers, **body)
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), (method, path)
        assert "p" * 100 not in response.text
