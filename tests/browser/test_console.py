"""The console in Chromium: an admin logs in, creates a program and a template, and finds a
contact's timeline; a staff user has no users page; a form posted without its CSRF token is
refused."""

from __future__ import annotations

import asyncio
from typing import Any

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


async def first_event(api: httpx.AsyncClient, staff: Staff, contact: str, topic: str) -> dict[str, Any]:
    """The contact's first event of `topic`, once the timeline read model shows it (≤ 5 s)."""
    for _ in range(100):
        timeline = (await api.get(f"/v1/contacts/{contact}/timeline", headers=staff.headers)).json()
        found = [e for e in timeline["items"] if e["topic"] == topic]
        if found:
            return dict(found[0])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {topic} event in the contact's timeline")


async def test_admin_creates_a_program_and_a_template_and_reads_a_contacts_timeline(
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

    # A template for the program: the live preview runs the opt-out wording check as one types.
    await tab.get_by_role("link", name="Templates").click()
    await tab.get_by_role("link", name="New template").click()
    await tab.get_by_label("Name").fill("Open day invitation")
    await tab.get_by_label("Kind").select_option("promotional")
    await tab.get_by_role("radio", name="SMS").check()
    await tab.get_by_label("Program").select_option(label="Orchard open days")
    await tab.get_by_label("Body").fill("The orchard opens on Saturday.")
    await expect(tab.locator("#template-problems")).to_contain_text("STOP")
    await tab.get_by_role("radio", name="Email").check()
    await tab.get_by_label("Subject (email)").fill("{{ program_name }}: open day")
    await tab.get_by_label("Body").fill("The orchard opens on Saturday. Unsubscribe: {{ unsubscribe_url }}")
    await expect(tab.locator("#template-checks")).to_be_visible()
    await expect(tab.locator("#template-rendered")).to_contain_text("/u/example")
    await tab.get_by_role("button", name="Create template").click()
    await expect(tab.get_by_role("heading", level=1)).to_have_text("Open day invitation")
    templates = (await api.get("/v1/templates", headers=admin.headers)).json()
    made = next(t for t in templates if t["name"] == "Open day invitation")
    assert made["optin_id"] == optin["id"] and made["channel"] == "email" and made["kind"] == "promotional"

    # Ask a contact from the console; the contact confirms the code they were sent.
    address = pii.email()
    await tab.get_by_role("link", name="Consent requests").click()
    await tab.get_by_label("Program").select_option(label="Orchard open days (email)")
    await tab.get_by_label("Address").fill(address)
    await tab.get_by_role("button", name="Send").click()
    await expect(tab.get_by_role("status")).to_contain_text("a code is on its way")
    found = (await api.get("/v1/contacts", params={"address": address}, headers=admin.headers)).json()
    contact = found["items"][0]["id"]
    verification = await first_event(api, admin, contact, "consent.requested")
    confirmed = await api.post(
        f"/v1/verifications/{verification['details']['verification_id']}/confirm",
        json={"code": await code_for(server, server_pool, contact)},
    )
    assert confirmed.json()["status"] == "opted_in", confirmed.text

    sent = await api.post(
        "/v1/messages/send",
        json={"contact_id": contact, "optin_id": optin["id"], "template_id": made["id"]},
        headers=admin.headers,
    )
    assert sent.status_code == 202, sent.text
    message = sent.json()["message_id"]
    await api.get(
        "/v1/messages", params={"min_position": sent.headers["ledger-position"]}, headers=admin.headers
    )
    await tab.get_by_role("link", name="Messages").click()
    await tab.locator(f'a[href="/console/messages/{message}"]').click()
    await expect(tab.locator("#basis")).to_contain_text("consent.granted")  # the consent it relied on
    await expect(tab.locator("#delivery")).to_contain_text("message.queued")

    await tab.get_by_role("link", name="Contacts").click()
    await tab.get_by_label("Address").fill(address)
    await tab.get_by_role("button", name="Search").click()
    await expect(tab.locator("#contact-rows tbody tr")).to_have_count(1)  # the search swapped in
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
