"""The admin users API: clear refusals, no lock-out of the last admin, paging, every write audited."""

from __future__ import annotations

import io

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.api.conftest import AuthHeaders

pytestmark = pytest.mark.integration

STRONG = "lilac-canyon-sprocket-5"


async def test_create_validates_and_refuses_duplicates(
    client: AsyncTestClient[Litestar], as_admin: dict[str, str]
) -> None:
    admin = as_admin
    body = {"email": "Grace@Staff.Example.org", "role": "staff", "password": STRONG}
    created = await client.post("/v1/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "grace@staff.example.org"  # staff are not contacts: in full
    assert created.json()["email_masked"] == "g***@s***.org"
    assert int(created.headers["ledger-position"]) > 0
    again = await client.post("/v1/users", json={**body, "email": "grace@staff.example.org"}, headers=admin)
    assert again.status_code == 409
    cases = {
        "weak password": {**body, "email": "w@staff.example.org", "password": "Password1234"},
        "no password": {"email": "n@staff.example.org", "role": "auditor"},
        "unknown role": {**body, "email": "r@staff.example.org", "role": "root"},
        "unknown field": {**body, "email": "u@staff.example.org", "name": "Grace"},
        "bad email": {**body, "email": "grace at example"},
    }
    for name, payload in cases.items():
        response = await client.post("/v1/users", json=payload, headers=admin)
        assert response.status_code == 422, name
        assert response.headers["content-type"].startswith("application/problem+json"), name
        assert STRONG not in response.text
        assert "Password1234" not in response.text, name
    malformed = await client.post("/v1/users", content=b"{not json", headers=admin)
    assert malformed.status_code == 400


async def test_admins_cannot_lock_out_the_last_admin_or_themselves(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders
) -> None:
    admin = await auth_headers("admin")
    me = (await client.get("/v1/users?role=admin", headers=admin)).json()["users"][0]["id"]
    assert (await client.patch(f"/v1/users/{me}", json={"disabled": True}, headers=admin)).status_code == 409
    assert (await client.patch(f"/v1/users/{me}", json={"role": "staff"}, headers=admin)).status_code == 409
    assert (await client.patch(f"/v1/users/{me}", json={}, headers=admin)).status_code == 422
    missing = "00000000-0000-4000-8000-000000000000"
    assert (
        await client.patch(f"/v1/users/{missing}", json={"role": "staff"}, headers=admin)
    ).status_code == 404
    staff_id = (
        await client.post(
            "/v1/users",
            json={"email": "s@staff.example.org", "role": "staff", "password": STRONG},
            headers=admin,
        )
    ).json()["id"]
    keyless = await client.post(f"/v1/users/{staff_id}/api-keys", headers=admin)
    assert keyless.status_code == 409  # keys are for service accounts
    promoted = await client.patch(f"/v1/users/{staff_id}", json={"role": "admin"}, headers=admin)
    assert promoted.json()["role"] == "admin"
    # with a second admin, the first may step down
    assert (
        await client.patch(f"/v1/users/{staff_id}", json={"disabled": True}, headers=admin)
    ).status_code == 200


async def test_listing_pages_by_creation_order(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders
) -> None:
    admin = await auth_headers("admin")
    for n in range(3):
        await client.post(
            "/v1/users",
            json={"email": f"p{n}@staff.example.org", "role": "auditor", "password": STRONG},
            headers=admin,
        )
    first = (await client.get("/v1/users?limit=2", headers=admin)).json()
    assert len(first["users"]) == 2
    second = (await client.get(f"/v1/users?limit=2&after={first['next_after']}", headers=admin)).json()
    assert len(second["users"]) == 2
    ids = [u["id"] for u in first["users"] + second["users"]]
    assert len(set(ids)) == 4
    auditors = (await client.get("/v1/users?role=auditor", headers=admin)).json()["users"]
    assert {u["email"] for u in auditors} == {f"p{n}@staff.example.org" for n in range(3)}
    assert len(auditors) == 3
    assert (await client.get("/v1/users?limit=0", headers=admin)).status_code == 422
    ahead = await client.get("/v1/users?min_position=999999", headers=admin)
    assert ahead.status_code == 400  # beyond the end of the ledger: refused at once, not waited for
    assert ahead.json()["errors"][0]["key"] == "min_position"


async def test_every_change_names_its_actor_and_request(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, pool: asyncpg.Pool
) -> None:
    admin = await auth_headers("admin")
    response = await client.post(
        "/v1/users",
        json={"email": "t@staff.example.org", "role": "staff", "password": STRONG},
        headers={**admin, "X-Request-ID": "req-create-42"},
    )
    state = await pool.fetchval(
        "SELECT state FROM events WHERE notification_id = $1", int(response.headers["ledger-position"])
    )
    assert b'"correlation_id":"req-create-42"' in state
    assert b'"kind":"user"' in state
    assert STRONG.encode() not in state


async def test_admins_read_staff_emails_in_full_but_logs_and_the_database_never_hold_them(
    client: AsyncTestClient[Litestar], as_admin: dict[str, str], pool: asyncpg.Pool, log_output: io.StringIO
) -> None:
    body = {"email": "Hedy.Lamarr@Staff.Example.org", "role": "auditor", "password": STRONG}
    created = await client.post("/v1/users", json=body, headers=as_admin)
    assert created.status_code == 201, created.text
    listed = (await client.get("/v1/users?role=auditor", headers=as_admin)).json()["users"]
    assert [u["email"] for u in listed] == ["hedy.lamarr@staff.example.org"]
    assert "hedy.lamarr" not in log_output.getvalue().lower()
    sealed = await pool.fetchval("SELECT sealed FROM staff_emails WHERE user_id = $1", listed[0]["id"])
    assert sealed and b"hedy" not in bytes(sealed).lower()  # sealed at rest
    events = await pool.fetch("SELECT state FROM events")
    assert not any(b"hedy" in bytes(e["state"]).lower() for e in events)  # the ledger has the mask only
