"""A contact opts in on a program's page with the code from the dev outbox, and opts out on the
preferences page (with htmx, and with JavaScript off: the forms post on their own)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests import pii
from tests.browser.conftest import NewStaff, Server, Staff, screenshot_path
from tests.codes import latest_code

pytestmark = pytest.mark.integration

DISCLOSURE = (
    "Plant care tips by email, twice a month.\n\nWe never share your address.  Unsubscribe at any time."
)


async def make_program(api: httpx.AsyncClient, staff: Staff, name: str, channels: list[str]) -> str:
    made = await api.post(
        "/v1/optins",
        json={"name": name, "purpose": "marketing", "channels": channels, "disclosure": DISCLOSURE},
        headers=staff.headers,
    )
    assert made.status_code == 201, made.text
    await api.get(
        "/v1/optins", params={"min_position": made.headers["ledger-position"]}, headers=staff.headers
    )
    return str(made.json()["id"])


async def contact_of(api: httpx.AsyncClient, staff: Staff, address: str) -> str:
    """The contact the page's background registration made."""
    for _ in range(100):
        found = await api.get("/v1/contacts", params={"address": address}, headers=staff.headers)
        if found.json()["items"]:
            return str(found.json()["items"][0]["id"])
        await asyncio.sleep(0.05)
    raise AssertionError("no contact was registered")


async def consent(api: httpx.AsyncClient, staff: Staff, contact: str, optin: str) -> Any:
    answer = await api.get(
        "/v1/consent",
        params={"contact_id": contact, "optin_id": optin, "channel": "email"},
        headers=staff.headers,
    )
    return answer.json()["status"]


async def code_for(server: Server, pool: asyncpg.Pool, contact: str, after: int = 0) -> str:
    settings = server.settings
    assert settings.kek and settings.index_key
    return await latest_code(pool, settings.kek, settings.index_key, contact, after=after)


async def test_contact_opts_in_on_the_program_page_with_the_code_from_the_outbox(
    tab: Page, api: httpx.AsyncClient, server: Server, server_pool: asyncpg.Pool, new_staff: NewStaff
) -> None:
    staff = await new_staff("staff")
    optin = await make_program(api, staff, "Plant care tips", ["email", "sms"])
    address = pii.email()

    await tab.goto(f"/programs/{optin}/opt-in")
    await expect(tab.get_by_role("heading", level=1)).to_have_text("Join: Plant care tips")
    assert await tab.locator("#disclosure").inner_text() == DISCLOSURE  # exactly, spaces and all
    await tab.get_by_label("Email", exact=True).check()
    await tab.get_by_label("Your email address or mobile number").fill(address)
    await tab.screenshot(path=screenshot_path("opt-in-page"), full_page=True)
    await tab.set_viewport_size({"width": 390, "height": 844})  # a phone: the layout is mobile first
    await tab.screenshot(path=screenshot_path("opt-in-page-phone"), full_page=True)
    await tab.get_by_role("button", name="Send me a code").click()

    await expect(tab.get_by_role("heading", level=1)).to_have_text("Enter your code")
    await expect(tab.locator("#code-address")).to_have_text(address)  # in full: a typo can be spotted
    contact = await contact_of(api, staff, address)
    await tab.get_by_label("Code").fill(await code_for(server, server_pool, contact))
    await tab.get_by_role("button", name="Confirm").click()

    await expect(tab.locator("#consent-status")).to_have_text("You get these emails")
    assert await tab.locator("#recorded-disclosure").inner_text() == DISCLOSURE
    assert await consent(api, staff, contact, optin) == "opted_in"
    timeline = await api.get(f"/v1/contacts/{contact}/timeline", headers=staff.headers)
    granted = [e for e in timeline.json()["items"] if e["topic"] == "consent.granted"]
    assert granted[0]["details"]["evidence"]["disclosure_version"] == 1


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-javascript"])
async def test_contact_opts_out_on_the_preferences_page(
    browser: Browser,
    server: Server,
    api: httpx.AsyncClient,
    server_pool: asyncpg.Pool,
    new_staff: NewStaff,
    javascript: bool,
) -> None:
    staff = await new_staff("staff")
    optin = await make_program(api, staff, f"Seed swap news {'js' if javascript else 'plain'}", ["email"])
    address = pii.email()
    context = await browser.new_context(base_url=server.url, java_script_enabled=javascript)
    tab = await context.new_page()
    try:
        await tab.goto("/preferences")
        await tab.get_by_label("Email address or mobile number").fill(address)
        await tab.get_by_role("button", name="Send me a code").click()
        contact = await contact_of(api, staff, address)
        await tab.get_by_label("Code").fill(await code_for(server, server_pool, contact))
        await tab.get_by_role("button", name="Confirm").click()

        await expect(tab.locator("#own-address")).to_have_text(address)  # the one page in clear
        row = tab.locator(f"#consent-{optin}")
        await row.get_by_role("button", name="Opt in to").click()
        await expect(row.locator(".status")).to_have_text("You get these emails")
        assert await consent(api, staff, contact, optin) == "opted_in"
        await row.get_by_role("button", name="Opt out of").click()
        await expect(row.locator(".status")).to_have_text("You don't get these")
        assert await consent(api, staff, contact, optin) == "opted_out"
        # either way, the keyboard's place is kept: the toggle just pressed has focus
        await expect(row.get_by_role("button", name="Opt in to")).to_be_focused()
    finally:
        await context.close()
