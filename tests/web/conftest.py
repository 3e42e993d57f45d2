"""Page tests over the ASGI test client: cookies without `Secure` (the client speaks plain HTTP)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.settings import Settings
from tests.api.conftest import app, app_settings, as_admin, auth_headers, auth_services, client  # noqa: F401

_TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return app_settings(database_url, tmp_path, cookie_secure=False)


def csrf_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def form_token(http: AsyncTestClient[Litestar], path: str) -> str:
    page = await http.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)
