"""Console pages over HTTP: login sets a session cookie, each role sees its pages and no others."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.auth.principal import Role
from api.composition import Components
from ledger.vocabulary import SYSTEM
from projections.runner import wait_for_position
from tests import pii
from tests.api.conftest import AuthHeaders
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]
PASSWORD = "console-heron-lantern-42"

PAGES = {
    "/console": ("staff", "auditor"),
    "/console/contacts": ("staff", "auditor"),
    "/console/consent-requests": ("staff",),
    "/console/revocations": ("staff",),
    "/console/programs": ("staff", "auditor"),
    "/console/programs/new": ("staff",),
    "/console/templates": ("staff",),
    "/console/templates/new": ("staff",),
    "/console/messages": ("staff", "auditor"),
    "/console/users": (),
    "/console/audit": ("auditor",),
}


async def log_in(client: Client, auth: Components, pool: object, role: Role) -> None:
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
    client: Client, auth_services: Components, pool: object, role: Role
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


async def test_the_console_takes_only_its_cookie_and_the_cookie_is_no_bearer_token(
    client: Client, auth_services: Components, pool: object, auth_headers: AuthHeaders
) -> None:
    bearer = await auth_headers("admin")
    refused = await client.get("/console", headers=bearer, follow_redirects=False)
    assert refused.status_code == 303  # a bearer token is not a console session
    await log_in(client, auth_services, pool, "admin")
    cookie = client.cookies["optin_console"]
    client.cookies.clear()
    api = await client.get("/v1/users", headers={"Authorization": f"Bearer {cookie}"})
    assert api.status_code == 401  # nor is the console cookie a bearer token


async def test_pages_carry_the_security_headers_and_logout_ends_the_session(
    client: Client, auth_services: Components, pool: object
) -> None:
    await log_in(client, auth_services, pool, "auditor")
    audit = await client.get("/console/audit")
    csp = audit.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert audit.headers["x-content-type-options"] == "nosniff"
    assert audit.headers["cache-control"] == "no-store"
    verified = await client.post("/console/audit/verify", data={"_csrf_token": csrf_of(audit.text)})
    assert 'id="verdict"' in verified.text and "Verified:" in verified.text
    bad = await client.post("/console/logout", data={})
    assert bad.status_code == 403 and "content-security-policy" in bad.headers
    copied = client.cookies["optin_console"]
    out = await client.post(
        "/console/logout", data={"_csrf_token": csrf_of(verified.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    assert (await client.get("/console/audit", follow_redirects=False)).status_code == 303
    # a copy of the cookie taken before logging out is refused too: the session ended on the server
    client.cookies.set("optin_console", copied)
    replayed = await client.get("/console/audit", follow_redirects=False)
    assert replayed.status_code == 303 and replayed.headers["location"].endswith("/console/login")


async def test_admin_issues_a_service_key_shown_once(
    client: Client, auth_services: Components, pool: object
) -> None:
    await log_in(client, auth_services, pool, "admin")
    users = await client.get("/console/users")
    made = await client.post(
        "/console/users",
        data={
            "_csrf_token": csrf_of(users.text),
            "email": "billing-app@staff.example.org",
            "role": "service",
        },
    )
    assert made.status_code == 201, made.text
    service = next(u for u in await auth_services.directory.page(role="service", after=None, limit=5))
    issued = await client.post(
        f"/console/users/{service.id}/api-keys", data={"_csrf_token": csrf_of(made.text)}
    )
    assert issued.status_code == 201
    key = issued.text.split('id="issued-key">')[1].split("<")[0]
    assert key.startswith("olk_")
    assert (await client.get("/v1/optins", headers={"Authorization": f"Bearer {key}"})).status_code == 200
    assert key not in (await client.get("/console/users")).text


async def test_a_console_session_is_renewed_while_used(
    client: Client, auth_services: Components, pool: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    await log_in(client, auth_services, pool, "staff")
    monkeypatch.setattr("api.web.sessions._RENEW_AFTER", timedelta(0))
    first = client.cookies["optin_console"]
    used = await client.get("/console/programs")
    renewed = used.headers["set-cookie"]
    assert renewed.startswith("optin_console=") and "HttpOnly" in renewed and "Max-Age=1800" in renewed
    assert client.cookies["optin_console"] != first
    # the renewed cookie is the same session: logging out with it ends the first one as well
    await client.post("/console/logout", data={"_csrf_token": csrf_of(used.text)}, follow_redirects=False)
    client.cookies.set("optin_console", first)
    assert (await client.get("/console/programs", follow_redirects=False)).status_code == 303
    client.cookies.clear()
    client.cookies.set("optin_console", "not-a-token")
    refused = await client.get("/console", follow_redirects=False)
    assert refused.status_code == 303
    assert "Max-Age=0" in refused.headers["set-cookie"]  # the bad cookie is cleared


async def test_staff_record_an_opt_out_at_once_and_ask_for_an_opt_in_from_the_console(
    client: Client, auth_services: Components, pool: object, auth_headers: AuthHeaders
) -> None:
    admin = await auth_headers("admin")
    made = await client.post(
        "/v1/optins",
        json={
            "name": "Letters",
            "purpose": "marketing",
            "channels": ["email"],
            "disclosure": "Monthly letters.",
        },
        headers=admin,
    )
    optin = made.json()["id"]
    await log_in(client, auth_services, pool, "staff")
    page = await client.get("/console/consent-requests")
    assert "at once, no code" in page.text
    form = {"_csrf_token": csrf_of(page.text), "optin_id": optin, "channel": "email"}
    out = await client.post(
        "/console/consent-requests",
        data={**form, "action": "opt_out", "address": pii.email(), "reason": "asked at the counter"},
    )
    assert out.status_code == 200, out.text[-500:]
    assert "Recorded the opt-out." in out.text
    asked = await client.post(
        "/console/consent-requests", data={**form, "action": "opt_in", "address": pii.email()}
    )
    assert asked.status_code == 202, asked.text[-500:]
    assert "a code is on its way" in asked.text
    refused = await client.post(
        "/console/consent-requests",
        data={**form, "channel": "sms", "action": "opt_out", "address": "not a number", "reason": "by phone"},
    )
    assert refused.status_code == 422
    kept = refused.text
    assert 'value="not a number" aria-invalid="true" aria-describedby="req-error"' in kept
    assert 'id="req-sms" name="channel" value="sms" checked' in kept
    assert 'id="action-out" name="action" value="opt_out" checked' in kept and 'value="by phone"' in kept
    assert f'<option value="{optin}" selected>' in kept
