"""Every page, at a phone's width and a desktop's, passes axe-core's WCAG 2.2 A/AA and best-practice
rules with no violation, and leaves a screenshot in `artifacts/browser/` (look at them).

Contact pages are walked the way a person meets them: a program's page, a refused address, the
code page and a refused code, the confirmation, "my preferences" with a toggle done by htmx, the
unsubscribe page, its answer and a broken link, and a page that does not exist. Console pages
are walked as an admin, who sees all of them.
"""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from api.composition import Components
from tests import pii
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import NewStaff, Server
from tests.browser.test_console import first_event, log_in
from tests.browser.test_contact_pages import code_for, contact_of, make_program

pytestmark = pytest.mark.integration


async def test_every_contact_page_passes_axe_at_both_widths(
    tab: Page,
    api: httpx.AsyncClient,
    server: Server,
    server_pool: asyncpg.Pool,
    new_staff: NewStaff,
    accounts: Components,
) -> None:
    staff = await new_staff("staff")
    optin = await make_program(api, staff, "Hedgerow walks", ["email", "sms"])
    address = pii.email()

    await tab.goto(f"/programs/{optin}/opt-in")
    await assert_accessible(tab, "contact-opt-in")
    await tab.get_by_label("Your email address or mobile number").fill("not-an-address")
    await tab.get_by_role("button", name="Send me a code").click()
    await expect(tab.locator("#address-error")).to_be_visible()
    await assert_accessible(tab, "contact-opt-in-refused-address")
    await expect(tab.get_by_label("Your email address or mobile number")).to_have_value("not-an-address")
    await tab.get_by_label("Your email address or mobile number").fill(address)
    await tab.get_by_role("button", name="Send me a code").click()
    await expect(tab.locator("#code-address")).to_have_text(address)
    await assert_accessible(tab, "contact-code")
    await tab.get_by_label("Code").fill("000000")
    await tab.get_by_role("button", name="Confirm").click()
    await expect(tab.locator("#code-error")).to_be_visible()
    await assert_accessible(tab, "contact-code-refused")
    contact = await contact_of(api, staff, address)
    await tab.get_by_label("Code").fill(await code_for(server, server_pool, contact))
    await tab.get_by_role("button", name="Confirm").click()
    await expect(tab.locator("#consent-status")).to_have_text("You get these emails")
    await assert_accessible(tab, "contact-opted-in")

    await tab.goto(f"/programs/{optin}/opt-out")
    await assert_accessible(tab, "contact-opt-out-one-step")
    second = await make_program(api, staff, "Orchard diary", ["email"])
    await tab.goto("/preferences")
    await tab.get_by_role("button", name="Opt in to Orchard diary").click()
    await expect(tab.locator(f"#consent-{second} .status")).to_have_text("You get these emails")
    await assert_accessible(tab, "contact-preferences")

    token = accounts.tokens.token(uuid.UUID(contact), uuid.UUID(optin))
    await tab.goto(f"/u/{token}")
    await assert_accessible(tab, "unsubscribe")
    await tab.get_by_role("button", name="Unsubscribe from Hedgerow walks").click()
    await expect(tab.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    await assert_accessible(tab, "unsubscribe-done")
    await tab.goto("/u/this-link-was-cut-sho")
    await assert_accessible(tab, "unsubscribe-broken-link")

    await tab.context.clear_cookies()
    await tab.goto("/preferences")
    await assert_accessible(tab, "contact-preferences-start")
    await tab.goto("/no-such-page")
    await expect(tab.get_by_role("heading", level=1)).to_have_text("Page not found")
    await assert_accessible(tab, "page-not-found")


async def test_every_console_page_passes_axe_at_both_widths(
    tab: Page, api: httpx.AsyncClient, server: Server, server_pool: asyncpg.Pool, new_staff: NewStaff
) -> None:
    admin = await new_staff("admin")
    optin = await make_program(api, admin, "Cider club", ["email"])
    await api.patch(
        f"/v1/optins/{optin}", json={"disclosure": "Cider club news, monthly."}, headers=admin.headers
    )
    made = await api.post(
        "/v1/templates",
        json={"name": "Cider news", "kind": "promotional", "channel": "email", "optin_id": optin,
              "subject": "News", "body": "Pressing day. Unsubscribe: {{ unsubscribe_url }}"},
        headers=admin.headers,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    address = pii.email()
    asked = await api.post(
        "/v1/consent-requests",
        json={"channel": "email", "address": address, "optin_id": optin, "action": "opt_in"},
        headers=admin.headers,
    )
    assert asked.status_code == 202, asked.text
    contact = asked.json()["contact_id"]
    await api.get(
        "/v1/contacts", params={"min_position": asked.headers["ledger-position"]}, headers=admin.headers
    )
    requested = await first_event(api, admin, contact, "consent.requested")
    confirmed = await api.post(
        f"/v1/verifications/{requested['details']['verification_id']}/confirm",
        json={"code": await code_for(server, server_pool, contact)},
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"},
    )
    assert confirmed.status_code == 200, confirmed.text
    sent = await api.post(
        "/v1/messages/send",
        json={"contact_id": contact, "optin_id": optin, "template_id": made.json()["id"]},
        headers=admin.headers,
    )
    assert sent.status_code == 202, sent.text

    await tab.goto("/console/login")
    await assert_accessible(tab, "console-login")
    await log_in(tab, admin)
    pages = {
        "console-dashboard": "/console",
        "console-contacts": "/console/contacts",
        "console-contact": f"/console/contacts/{contact}",
        "console-consent-requests": "/console/consent-requests",
        "console-programs": "/console/programs",
        "console-program-new": "/console/programs/new",
        "console-program": f"/console/programs/{optin}",
        "console-disclosures": f"/console/programs/{optin}/disclosures",
        "console-templates": "/console/templates",
        "console-template-new": "/console/templates/new",
        "console-template": f"/console/templates/{made.json()['id']}",
        "console-messages": "/console/messages",
        "console-message": f"/console/messages/{sent.json()['message_id']}",
        "console-users": "/console/users",
        "console-audit": "/console/audit",
        "console-not-found": "/console/no-such-page",
    }
    for name, path in pages.items():
        await tab.goto(path)
        await assert_accessible(tab, name)

    await tab.goto("/console/contacts")
    await tab.get_by_label("Address").fill(address)
    await tab.get_by_role("button", name="Search").click()
    await expect(tab.locator("#contact-rows tbody tr")).to_have_count(1)
    await expect(tab.locator("#live")).to_have_text("One contact has that address.")
    await assert_accessible(tab, "console-contacts-found")
