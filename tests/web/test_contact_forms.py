"""Contact forms that go wrong and come back: what was typed and chosen stays, the error is tied to
its field, a new code can be asked for, and every page path answers a page (never JSON), with the
security headers, a broken `/u/{token}` link included (a working one: tests/api/test_email_channel.py)."""

from __future__ import annotations

import re

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.settings import Settings
from projections.runner import wait_for_position
from tests import pii
from tests.codes import latest_code
from tests.web.conftest import csrf_of, form_token
from tests.web.test_contact_pages import contact_id_of

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]


def field(html: str, name: str) -> str:
    """The `<input>` tag named `name`."""
    found = re.search(rf'<input id="{name}"[^>]*>', html, re.S)
    assert found, f"no {name} field"
    return found.group(0)


async def test_a_refused_address_keeps_what_was_typed_and_the_channel_and_says_why_at_the_field(
    client: Client,
) -> None:
    token = await form_token(client, "/preferences")
    refused = await client.post(
        "/preferences/code", data={"_csrf_token": token, "channel": "sms", "address": "not a number"}
    )
    assert refused.status_code == 422
    address = field(refused.text, "address")
    assert 'value="not a number"' in address
    assert 'aria-invalid="true"' in address and 'aria-describedby="address-error address-hint"' in address
    assert re.search(r'id="address-error">.*?\w', refused.text)
    assert re.search(r'id="channel-sms"[^>]*checked', refused.text)
    assert not re.search(r'id="channel-email"[^>]*checked', refused.text)


async def test_the_code_page_offers_a_new_code_and_a_different_address(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str]
) -> None:
    assert settings.kek and settings.index_key
    address = pii.email()
    token = await form_token(client, "/preferences")
    sent = await client.post(
        "/preferences/code", data={"_csrf_token": token, "channel": "email", "address": address}
    )
    assert 'href="/preferences#address">Change address' in sent.text
    contact = await contact_id_of(client, as_admin, address)
    first = await latest_code(pool, settings.kek, settings.index_key, contact)

    wrong = await client.post(
        "/preferences/confirm", data={"_csrf_token": csrf_of(sent.text), "code": "000000"}
    )
    assert wrong.status_code == 422
    code_field = field(wrong.text, "code")
    assert 'aria-invalid="true"' in code_field and "code-error" in code_field

    again = await client.post("/preferences/resend", data={"_csrf_token": csrf_of(sent.text)})
    assert again.status_code == 200 and "A new code is on its way" in again.text
    assert f'id="code-address">{address}<' in again.text
    newest = await latest_code(pool, settings.kek, settings.index_key, contact, after=1)
    assert newest != first
    changing = await client.get("/preferences")  # "change address" comes back with it filled in
    assert f'value="{address}"' in field(changing.text, "address")

    done = await client.post(
        "/preferences/confirm",
        data={"_csrf_token": csrf_of(again.text), "code": newest},
        follow_redirects=False,
    )
    assert done.status_code == 303


async def test_a_toggle_without_javascript_comes_back_saying_what_changed(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str]
) -> None:
    assert settings.kek and settings.index_key
    made = await client.post(
        "/v1/optins",
        json={"name": "Bee news", "purpose": "marketing", "channels": ["email"], "disclosure": "Bees."},
        headers=as_admin,
    )
    optin = made.json()["id"]
    await wait_for_position(pool, int(made.headers["ledger-position"]), ["optins"])
    address = pii.email()
    token = await form_token(client, "/preferences")
    sent = await client.post(
        "/preferences/code", data={"_csrf_token": token, "channel": "email", "address": address}
    )
    contact = await contact_id_of(client, as_admin, address)
    code = await latest_code(pool, settings.kek, settings.index_key, contact)
    await client.post("/preferences/confirm", data={"_csrf_token": csrf_of(sent.text), "code": code})
    prefs = await client.get("/preferences")
    assert "Not subscribed" in prefs.text and ">unknown<" not in prefs.text  # never the word "unknown"

    form = {
        "_csrf_token": csrf_of(prefs.text),
        "optin_id": optin,
        "action": "opt_in",
        "disclosure_version": "1",
    }
    done = await client.post("/preferences/consents", data=form)
    assert "Done: you now get Bee news emails." in done.text
    assert re.search(rf'id="consent-{optin}".*?You get these emails', done.text, re.S)

    swapped = await client.post(
        "/preferences/consents", data={**form, "action": "opt_out"}, headers={"HX-Request": "true"}
    )
    assert f'id="toggle-{optin}"' in swapped.text  # the same id: htmx puts focus back on it
    assert 'hx-swap-oob="innerHTML:#announce">Done: you no longer get Bee news emails.' in swapped.text


async def test_unknown_page_paths_answer_a_page_and_api_paths_a_problem(client: Client) -> None:
    page = await client.get("/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    console = await client.get("/console/no-such-page")
    assert console.status_code == 404 and "Back to the console" in console.text
    api = await client.get("/v1/no-such-thing")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    assert "content-security-policy" not in api.headers


async def test_an_unsubscribe_link_that_does_not_work_answers_a_page_with_every_security_header(
    client: Client,
) -> None:
    for answer in (await client.get("/u/not-a-token"), await client.post("/u/not-a-token")):
        assert answer.status_code == 404 and "This link does not work" in answer.text
        assert "default-src 'none'" in answer.headers["content-security-policy"], answer.text
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"
        assert '<link rel="stylesheet" href="/static/app.css">' in answer.text
