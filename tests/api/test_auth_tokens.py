"""Credentials over HTTP: forged, expired and misaddressed tokens, disabled accounts, revoked keys."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.settings import Settings
from api.auth.principal import Role
from api.auth.tokens import ISSUER, STAFF_AUDIENCE, derive_key, issue_contact_token, issue_staff_token
from api.composition import Components
from ledger.user import create_user
from ledger.vocabulary import SYSTEM
from projections.runner import wait_for_position
from tests.api.conftest import AuthHeaders

pytestmark = pytest.mark.integration
PASSWORD = "quiet-meadow-compass-8"
STALE = "the account's credentials changed since this token was issued; log in again"


async def admin(auth: Components, pool: asyncpg.Pool) -> uuid.UUID:
    user, position = await auth.accounts.create(
        email=f"a-{uuid.uuid4().hex[:6]}@staff.example.org",
        role="admin",
        password=PASSWORD,
        actor=SYSTEM,
    )
    await wait_for_position(pool, position, ["users"])
    return user.id


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forged(settings: Settings, user_id: uuid.UUID, **changes: object) -> dict[str, str]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(user_id),
        "iss": ISSUER,
        "aud": STAFF_AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": "j",
        "cv": 0,
    }
    key = str(changes.pop("key", derive_key(settings.token_key or b"", "jwt:" + STAFF_AUDIENCE).hex()))
    algorithm = str(changes.pop("alg", "HS256"))
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    return bearer(jwt.encode(claims, "" if algorithm == "none" else key, algorithm=algorithm))


async def test_bad_tokens_get_401_with_the_reason_and_a_challenge(
    client: AsyncTestClient[Litestar], auth_services: Components, pool: asyncpg.Pool, settings: Settings
) -> None:
    user_id = await admin(auth_services, pool)
    good = forged(settings, user_id)
    assert (await client.get("/v1/users", headers=good)).status_code == 200
    refused = {
        "expired": forged(settings, user_id, exp=datetime.now(UTC) - timedelta(seconds=5)),
        "wrong signature": forged(settings, user_id, key="another-key-entirely-0123456789abcdef"),
        "alg none": forged(settings, user_id, alg="none"),
        "wrong audience": forged(settings, user_id, aud="optin-ledger:contact"),
        "wrong issuer": forged(settings, user_id, iss="someone-else"),
        "unknown user": forged(settings, uuid.uuid4()),
        "not a bearer": {"Authorization": f"Basic {good['Authorization'][7:]}"},
        "unknown api key": bearer("olk_" + "A" * 43),
        "garbage": bearer("x"),
    }
    for name, headers in refused.items():
        response = await client.get("/v1/users", headers=headers)
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"].startswith('Bearer realm="optin-ledger"'), name
        assert response.json()["detail"], name
    missing = await client.get("/v1/users")
    assert missing.status_code == 401
    assert "error=" not in missing.headers["www-authenticate"]


async def test_a_contact_session_is_never_a_staff_token(
    client: AsyncTestClient[Litestar], settings: Settings
) -> None:
    contact = bearer(issue_contact_token(settings.token_key, uuid.uuid4()))
    for path in ("/v1/users", "/v1/audit/events"):
        assert (await client.get(path, headers=contact)).status_code == 403


async def test_disabling_a_user_locks_them_out_at_once(
    client: AsyncTestClient[Litestar], auth_services: Components, pool: asyncpg.Pool, settings: Settings
) -> None:
    first, second = await admin(auth_services, pool), await admin(auth_services, pool)
    their_token = bearer(issue_staff_token(settings.token_key, second))
    assert (await client.get("/v1/users", headers=their_token)).status_code == 200
    ours = bearer(issue_staff_token(settings.token_key, first))
    disabled = await client.patch(f"/v1/users/{second}", json={"disabled": True}, headers=ours)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True
    refused = await client.get("/v1/users", headers=their_token)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "this account is disabled"
    await client.patch(f"/v1/users/{second}", json={"disabled": False}, headers=ours)
    # Enabled again, the account logs in afresh: what was issued before the disabling stays dead.
    still = await client.get("/v1/users", headers=their_token)
    assert still.status_code == 401
    assert still.json()["detail"] == STALE


async def login_token(client: AsyncTestClient[Litestar], email: str, password: str) -> str:
    answer = await client.post("/v1/auth/token", data={"username": email, "password": password})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


async def account(auth: Components, pool: asyncpg.Pool, role: Role = "admin") -> tuple[uuid.UUID, str]:
    email = f"{role}-{uuid.uuid4().hex[:6]}@staff.example.org"
    user, position = await auth.accounts.create(email=email, role=role, password=PASSWORD, actor=SYSTEM)
    await wait_for_position(pool, position, ["users"])
    return user.id, email


async def test_a_token_issued_in_the_same_second_as_a_password_change_is_refused(
    client: AsyncTestClient[Litestar], auth_services: Components, pool: asyncpg.Pool
) -> None:
    """Issue 15 item 9: before, tokens were compared with the change by whole seconds."""
    user_id, email = await account(auth_services, pool)
    for _ in range(5):  # until the login and the change fall within one second
        await asyncio.sleep(1 - time.time() % 1)  # at the start of a second
        token = await login_token(client, email, PASSWORD)
        position = await auth_services.accounts.change(user_id, password=PASSWORD, actor=SYSTEM)
        await wait_for_position(pool, position, ["users"])
        changed = await pool.fetchval("SELECT password_changed_at FROM users WHERE id = $1", user_id)
        issued = jwt.decode(token, options={"verify_signature": False})["iat"]
        if int(changed.timestamp()) == issued:
            break
    assert int(changed.timestamp()) == issued, "the machine was too slow to test within one second"
    refused = await client.get("/v1/users", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["detail"] == STALE
    fresh = await login_token(client, email, PASSWORD)
    assert (await client.get("/v1/users", headers=bearer(fresh))).status_code == 200


async def test_a_role_change_ends_the_tokens_issued_before_it(
    client: AsyncTestClient[Litestar], auth_services: Components, pool: asyncpg.Pool
) -> None:
    user_id, email = await account(auth_services, pool, role="staff")
    before = bearer(await login_token(client, email, PASSWORD))
    assert (await client.get("/v1/optins", headers=before)).status_code == 200
    position = await auth_services.accounts.change(user_id, role="auditor", actor=SYSTEM)
    await wait_for_position(pool, position, ["users"])
    assert (await client.get("/v1/optins", headers=before)).status_code == 401
    after = bearer(await login_token(client, email, PASSWORD))
    assert (await client.get("/v1/audit/events", headers=after)).status_code == 200


async def test_a_token_without_the_current_credential_version_is_refused(
    client: AsyncTestClient[Litestar], auth_services: Components, pool: asyncpg.Pool, settings: Settings
) -> None:
    """Tokens made before credential versions existed (no `cv`) are not accepted either."""
    user_id = await admin(auth_services, pool)
    assert (await client.get("/v1/users", headers=forged(settings, user_id))).status_code == 200
    for claim in (None, "0", True, 1):
        response = await client.get("/v1/users", headers=forged(settings, user_id, cv=claim))
        assert response.status_code == 401, claim


async def test_revoked_api_keys_and_disabled_service_accounts_are_refused(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, pool: asyncpg.Pool
) -> None:
    admin_headers = await auth_headers("admin")
    created = await client.post(
        "/v1/users", json={"email": "billing-app@apps.example.org", "role": "service"}, headers=admin_headers
    )
    assert created.status_code == 201, created.text
    service_id = created.json()["id"]
    issued = await client.post(f"/v1/users/{service_id}/api-keys", headers=admin_headers)
    assert issued.status_code == 201
    key = issued.json()
    assert key["key"].startswith("olk_")
    assert key["key"].startswith(key["prefix"])
    assert issued.headers["cache-control"] == "no-store"
    # a service key may read nothing admin-only, but it authenticates (403, not 401)
    assert (await client.get("/v1/users", headers=bearer(key["key"]))).status_code == 403
    listed = (await client.get("/v1/users?role=service", headers=admin_headers)).json()["users"]
    [listed_key] = listed[0]["api_keys"]
    assert listed_key["id"] == key["id"]
    assert listed_key["last_used_at"] is not None
    assert "key" not in listed_key
    stored = await pool.fetchval(
        "SELECT count(*) FROM events WHERE position($1::bytea IN state) > 0", key["key"].encode()
    )
    assert stored == 0  # the secret itself is nowhere in the ledger

    revoked = await client.delete(f"/v1/users/{service_id}/api-keys/{key['id']}", headers=admin_headers)
    assert revoked.status_code == 204
    assert int(revoked.headers["ledger-position"]) > 0
    refused = await client.get("/v1/audit/events", headers=bearer(key["key"]))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "this API key was revoked"

    second = (await client.post(f"/v1/users/{service_id}/api-keys", headers=admin_headers)).json()
    await client.patch(f"/v1/users/{service_id}", json={"disabled": True}, headers=admin_headers)
    assert (await client.get("/v1/users", headers=bearer(second["key"]))).status_code == 401


async def test_a_key_revoked_through_another_replica_is_refused_within_a_second_of_its_answer(
    client: AsyncTestClient[Litestar], auth_services: Components, pool: asyncpg.Pool
) -> None:
    """`auth_services` is another process's composition on the same database: a revocation there
    reaches this app only through the read model, once its one-second answer is out of date. The
    key is in use all along, so its answer is being refreshed in the background meanwhile."""
    accounts = auth_services.accounts
    email = f"replica-app-{uuid.uuid4().hex[:6]}@apps.example.org"
    user = create_user(email=email, role="service", actor=SYSTEM)
    await accounts.credentials.claim_email(accounts.email_index(email), user.id, None)
    await accounts.repository.save(user)
    issued = await accounts.issue_api_key(user.id, SYSTEM)
    await wait_for_position(pool, issued.position, ["users"])
    headers = bearer(issued.key.secret)
    # Authenticated (403 on an admin list) by a crowd at once, then steadily for over a second.
    crowd = await asyncio.gather(*(client.get("/v1/users", headers=headers) for _ in range(16)))
    assert {r.status_code for r in crowd} == {403}
    until = time.monotonic() + 1.3
    while time.monotonic() < until:
        assert (await client.get("/v1/users", headers=headers)).status_code == 403
        await asyncio.sleep(0.02)

    position = await accounts.revoke_api_key(user.id, issued.key_id, SYSTEM)
    await wait_for_position(pool, position, ["users"])
    revoked_at = time.monotonic()
    while (await client.get("/v1/users", headers=headers)).status_code == 403:
        assert time.monotonic() - revoked_at < 3.0, "a revoked key still accepted after 3 s"
        await asyncio.sleep(0.02)
    for _ in range(5):
        refused = await client.get("/v1/users", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["detail"] == "this API key was revoked"
