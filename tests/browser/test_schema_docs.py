"""The API docs page in Chromium: Swagger UI from the service itself, offline, under the CSP."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, Route, expect

from tests.browser.conftest import Server, screenshot_path

pytestmark = pytest.mark.integration


async def test_the_docs_page_works_offline_under_the_pages_csp(tab: Page, server: Server) -> None:
    elsewhere: list[str] = []

    async def only_this_origin(route: Route) -> None:
        if route.request.url.startswith(server.url):
            await route.continue_()
        else:  # a CDN, a validator badge, fonts: none of it may be needed, so none is reachable
            elsewhere.append(route.request.url)
            await route.abort()

    await tab.route("**/*", only_this_origin)
    response = await tab.goto("/schema/swagger")
    assert response is not None and response.status == 200
    headers = await response.all_headers()
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    await expect(tab.get_by_text("OptIn Ledger").first).to_be_visible(timeout=20_000)
    await expect(tab.locator(".opblock-summary-path", has_text="/v1/consent/check")).to_be_visible()
    await tab.screenshot(path=screenshot_path("schema-swagger"), full_page=False)
    assert elsewhere == []  # the tab fixture fails the test on any CSP violation too


async def test_the_docs_assets_come_from_the_service(api: httpx.AsyncClient) -> None:
    page = (await api.get("/schema/swagger")).text
    assert "https://" not in page and "<style" not in page and "<script>" not in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "optin-swagger.js"):
        found = await api.get(f"/schema/swagger/assets/{asset}")
        assert found.status_code == 200, asset
        assert len(found.content) > 100
