"""An app per test, on its own fresh database, driven through Litestar's ASGI test client."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nacl.pwhash.argon2id import MEMLIMIT_MIN, OPSLIMIT_MIN

from adapters.compliance_settings import ComplianceSettings
from adapters.settings import Settings
from api.app import create_app
from api.auth.passwords import PasswordHasher
from api.auth.principal import Role
from api.auth.tokens import issue_staff_token
from api.composition import Components, compose
from ledger.user import create_user
from ledger.vocabulary import SYSTEM
from projections.runner import wait_for_position


def app_settings(database_url: str, data_dir: Path, *, cookie_secure: bool = True) -> Settings:
    """Settings for an app under test: this database, fresh random keys."""
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        kek=secrets.token_bytes(32),
        index_key=secrets.token_bytes(32),
        token_key=secrets.token_bytes(32),
        signing_key=secrets.token_bytes(32),
        cookie_secure=cookie_secure,
        # Messages go whatever the hour the suite runs at (tests/integration covers quiet hours).
        compliance=ComplianceSettings(quiet_hours="off"),
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return app_settings(database_url, tmp_path)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app) as c:
        yield c


@pytest.fixture
async def auth_services(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[Components]:
    """The composition root on the test's own pool (account commands, say): the app runs on
    another event loop (the test client's thread), so tests must not borrow its connections."""
    parts = compose(settings, pool, hasher=PasswordHasher(OPSLIMIT_MIN, MEMLIMIT_MIN))
    yield parts
    await parts.close()


AuthHeaders = Callable[[Role], Awaitable[dict[str, str]]]


@pytest.fixture
async def auth_headers(
    client: AsyncTestClient[Litestar], auth_services: Components, settings: Settings, pool: asyncpg.Pool
) -> AuthHeaders:
    """`await auth_headers("staff")`: the Authorization header of a new account with that role.

    People get a staff JWT; `service` gets an API key of a new service account. The account is
    written as its events (no password, so no slow hashing) and visible to authentication when
    this returns.
    """
    accounts = auth_services.accounts

    async def make(role: Role) -> dict[str, str]:
        email = f"{role}-{uuid.uuid4().hex[:8]}@staff.example.org"
        user = create_user(email=email, role=role, actor=SYSTEM)
        await accounts.credentials.claim_email(accounts.email_index(email), user.id, None)
        position = await accounts.repository.save(user)
        token = issue_staff_token(settings.token_key, user.id)
        if role == "service":
            issued = await accounts.issue_api_key(user.id, SYSTEM)
            token, position = issued.key.secret, issued.position
        await wait_for_position(pool, position, ["users"])
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
async def as_admin(auth_headers: AuthHeaders) -> dict[str, str]:
    """The Authorization header of a fresh admin (what the interim bootstrap token used to give)."""
    return await auth_headers("admin")
