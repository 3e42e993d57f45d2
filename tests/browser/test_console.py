"""The console in Chromium: an admin logs in, creates a program and finds a contact's timeline;
a staff user has no users page; a form posted without its CSRF token is refused."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from tests import pii
from tests.browser.conftest import NewStaff, Server, Staff, screenshot_path
from tests.browser.test_contact_pages import code_for

pytestmark = pytest.mark.integration


async def log_in(tab: Page, staff: Staff) -> None:
    await tab.goto("/console")
    await expect(tab).to_have_url(tab.url.split("/console")[0] + "/console/login")
    await tab.get_by_label("Email").fill(staff.email)
    await tab.get_by_label("Password").fill(staff.password)
    await tab.get_by_role("button", name="Log in").click()
    await expect(tab.get_by_role("heading", level=1)).to_have_text("Dashboard")


async def test_admin_creates_a_program_and_reads_a_contacts_timeline(
    tab: Page, api: httpx.AsyncClient, server: Server, server_pool: asyncpg.Pool, new_staff: NewStaff
) -> None:
    admin = await new_staff("admin")
    await log_in(tab, admin)
    cookies = {c["name"]: c for c in await tab.context.cookies()}
    session = cookies["__Host-optin_console"]
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Lax"

    await tab.get_by_role("link", name="Programs").click()
    await tab.get_by_role("link", name="New program").click()
    await tab.get_by_label("Name").fill("Orchard open days")
    await tab.get_by_label("Description").fill("Dates when the orchard is open to visitors.")
    await tab.get_by_label("Email").check()
    disclosure = "Open-day invitations by email, about four a year.\nReply or click unsubscribe to stop."
    await tab.get_by_label("Disclosure text").fill(disclosure)
    await expect(tab.locator("#preview .disclosure")).to_have_text(disclosure)  # htmx live preview
    await tab.get_by_role("button", name="Create program").click()
    await expect(tab.get_by_role("heading", level=1)).to_have_text("Orchard open days")
    programs = (await api.get("/v1/optins", headers=admin.headers)).json()
    optin = next(p for p in programs if p["name"] == "Orchard open days")
    assert optin["disclosure"] == disclosure and optin["channels"] == ["email"]

    # Ask a contact from the console; the contact confirms the code they were sent.
    address = pii.email()
    await tab.get_by_role("link", name="Consent requests").click()
    await tab.get_by_label("Program").select_option(label="Orchard open days (email)")
    await tab.get_by_label("Address").fill(address)
    await tab.get_by_role("button", name="Send").click()
    await expect(tab.get_by_role("status")).to_contain_text("a code is on its way")
    found = (await api.get("/v1/contacts", params={"address": address}, headers=admin.headers)).json()
    contact = found["items"][0]["id"]
    timeline = (await api.get(f"/v1/contacts/{contact}/timeline", headers=admin.headers)).json()
    verification = next(e for e in timeline["items"] if e["topic"] == "consent.requested")
    confirmed = await api.post(
        f"/v1/verifications/{verification['details']['verification_id']}/confirm",
        json={"code": await code_for(server, server_pool, contact)},
    )
    assert confirmed.json()["status"] == "opted_in", confirmed.text

    await tab.get_by_role("link", name="Contacts").click()
    await tab.get_by_label("Address").fill(address)
    await tab.get_by_role("button", name="Search").click()
    masked = found["items"][0]["address"]
    await tab.get_by_role("link", name=masked).click()
    await expect(tab.locator("#timeline")).to_contain_text("consent.granted")
    await expect(tab.locator("#timeline")).to_contain_text("consent.requested")
    await expect(tab.locator("#timeline")).to_contain_text(optin["disclosure_sha256"])
    assert address not in await tab.content()  # staff see the address masked

    await tab.get_by_role("link", name="Dashboard").click()
    await expect(tab.locator("#chart-opt-ins rect")).not_to_have_count(0)
    await tab.screenshot(path=screenshot_path("dashboard"), full_page=True)


async def test_a_staff_user_does_not_see_the_users_page(tab: Page, new_staff: NewStaff) -> None:
    await log_in(tab, await new_staff("staff"))
    menu = tab.get_by_role("navigation", name="Console")
    await expect(menu.get_by_role("link", name="Programs")).to_be_visible()
    await expect(menu.get_by_role("link", name="Users")).to_have_count(0)
    answer = await tab.goto("/console/users")
    assert answer is not None and answer.status == 403
    await expect(tab.get_by_role("heading", level=1)).to_have_text("Not for your role")


async def test_a_form_posted_without_its_csrf_token_is_refused(
    tab: Page, api: httpx.AsyncClient, new_staff: NewStaff
) -> None:
    staff = await new_staff("staff")
    await log_in(tab, staff)
    await tab.goto("/console/programs/new")
    await tab.get_by_label("Name").fill("Never created")
    await tab.get_by_label("Disclosure text").fill("This program must not exist.")
    await tab.locator("form.card input[name=_csrf_token]").evaluate("input => input.remove()")
    async with tab.expect_response(lambda r: r.url.endswith("/console/programs")) as posted:
        await tab.get_by_role("button", name="Create program").click()
    assert (await posted.value).status == 403
    await expect(tab.get_by_role("heading", level=1)).to_have_text("Form refused")
    programs = (await api.get("/v1/optins", headers=staff.headers)).json()
    assert "Never created" not in [p["name"] for p in programs]
