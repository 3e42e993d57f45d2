"""An app per test, on its own fresh database, driven through Litestar's ASGI test client."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.settings import Settings
from api.app import create_app

BOOTSTRAP = "test-bootstrap-token"
AS_ADMIN = {"Authorization": f"Bearer {BOOTSTRAP}"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        kek=secrets.token_bytes(32),
        index_key=secrets.token_bytes(32),
        token_key=secrets.token_bytes(32),
        bootstrap_token=BOOTSTRAP,
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app) as c:
        yield c
