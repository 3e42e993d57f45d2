"""Console pages over HTTP: login sets a session cookie, each role sees its pages and no others."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.auth.principal import Role
from api.auth.services import AuthServices
from ledger.vocabulary import SYSTEM
from projections.runner import wait_for_position
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]
PASSWORD = "console-heron-lantern-42"

PAGES = {
    "/console": ("staff", "auditor"),
    "/console/contacts": ("staff", "auditor"),
    "/console/consent-requests": ("staff",),
    "/console/programs": ("staff", "auditor"),
    "/console/programs/new": ("staff",),
    "/console/users": (),
    "/console/audit": ("auditor",),
}


async def log_in(client: Client, auth: AuthServices, pool: object, role: Role) -> None:
    email = f"{role}-console@staff.example.org"
    _, position = await auth.accounts.create(email=email, role=role, password=PASSWORD, actor=SYSTEM)
    await wait_for_position(pool, position, ["users"])  # type: ignore[arg-type]
    form = await client.get("/console/login")
    answer = await client.post(
        "/console/login",
        data={"_csrf_token": csrf_of(form.text), "email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert "optin_console=" in answer.headers["set-cookie"]
    assert "HttpOnly" in answer.headers["set-cookie"]


@pytest.mark.parametrize("role", ["admin", "staff", "auditor"])
async def test_each_role_sees_exactly_its_pages(
    client: Client, auth_services: AuthServices, pool: object, role: Role
) -> None:
    anonymous = await client.get("/console", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/console/login"
    await log_in(client, auth_services, pool, role)
    for path, roles in PAGES.items():
        response = await client.get(path)
        allowed = role == "admin" or role in roles
        assert response.status_code == (200 if allowed else 403), (path, response.text[-500:])
        if allowed:
            menu = response.text.split("</nav>")[0]
            assert ('href="/console/users"' in menu) == (role == "admin")
