"""A contact who uses only the keyboard opts in with a code, changes a preference and
unsubscribes: Tab, typing and Enter, never a click. After the htmx toggle, focus stays on the
toggle and the live region says what changed."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from api.composition import Components
from tests import pii
from tests.browser.conftest import NewStaff, Server
from tests.browser.test_contact_pages import code_for, contact_of, make_program

pytestmark = pytest.mark.integration


async def focused(target: Locator) -> bool:
    result: bool = await target.evaluate("element => element === document.activeElement")
    return result


async def tab_to(tab: Page, target: Locator, limit: int = 40) -> None:
    """Press Tab until `target` has focus (as a keyboard user moves through the page)."""
    for _ in range(limit):
        await tab.keyboard.press("Tab")
        if await focused(target):
            return
    raise AssertionError(f"{target} cannot be reached with Tab")


async def test_opt_in_with_a_code_change_a_preference_and_unsubscribe_by_keyboard_only(
    tab: Page,
    api: httpx.AsyncClient,
    server: Server,
    server_pool: asyncpg.Pool,
    new_staff: NewStaff,
    accounts: Components,
) -> None:
    staff = await new_staff("staff")
    optin = await make_program(api, staff, "Moth night", ["email", "sms"])
    other = await make_program(api, staff, "Bat walk", ["email"])
    address = pii.email()

    await tab.goto(f"/programs/{optin}/opt-in")
    await tab.keyboard.press("Tab")
    assert await focused(tab.get_by_role("link", name="Skip to content"))
    await tab_to(tab, tab.get_by_label("Email", exact=True))  # the channel: arrow keys move within
    await tab_to(tab, tab.get_by_label("Your email address or mobile number"))
    await tab.keyboard.type(address)
    await tab.keyboard.press("Enter")

    await expect(tab.locator("#code-address")).to_have_text(address)
    assert await focused(tab.get_by_label("Code"))  # the one field of the page has focus
    contact = await contact_of(api, staff, address)
    await tab.keyboard.type(await code_for(server, server_pool, contact))
    await tab.keyboard.press("Enter")
    await expect(tab.locator("#consent-status")).to_have_text("You get these emails")

    await tab_to(tab, tab.get_by_role("link", name="See all my preferences"))
    await tab.keyboard.press("Enter")
    toggle = tab.locator(f"#toggle-{other}")
    await expect(toggle).to_have_text("Opt in")
    await tab_to(tab, toggle)
    await tab.keyboard.press("Enter")
    await expect(tab.locator(f"#consent-{other} .status")).to_have_text("You get these emails")
    await expect(toggle).to_have_text("Opt out")
    assert await focused(toggle)  # swapped in place, focus kept
    await expect(tab.locator("#announce")).to_have_text("Done: you now get Bat walk emails.")
    await tab.keyboard.press("Enter")  # and again at once: the same button, now "Opt out"
    await expect(tab.locator(f"#consent-{other} .status")).to_have_text("You don't get these")
    await expect(toggle).to_be_focused()
    assert "changed=" not in tab.url  # a partial update again, not the plain form's page

    token = accounts.tokens.token(uuid.UUID(contact), uuid.UUID(optin))
    await tab.goto(f"/u/{token}")  # the link in every marketing email
    await tab_to(tab, tab.get_by_role("button", name="Unsubscribe from Moth night"))
    await tab.keyboard.press("Enter")
    await expect(tab.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    for _ in range(100):  # the read model follows the ledger within moments
        status = await api.get(
            "/v1/consent",
            params={"contact_id": contact, "optin_id": optin, "channel": "email"},
            headers=staff.headers,
        )
        if status.json()["status"] == "opted_out":
            break
        await asyncio.sleep(0.05)
    assert status.json()["status"] == "opted_out"
