"""Contact pages over HTTP: opt in with a code, preferences, one-step opt-out, CSRF refusals."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.settings import Settings
from projections.runner import wait_for_position
from tests import pii
from tests.codes import latest_code
from tests.web.conftest import csrf_of, form_token

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]


async def make_program(client: Client, pool: asyncpg.Pool, headers: dict[str, str], disclosure: str) -> str:
    made = await client.post(
        "/v1/optins",
        json={"name": "Garden news", "purpose": "marketing", "channels": ["email"], "disclosure": disclosure},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    await wait_for_position(pool, int(made.headers["ledger-position"]), ["optins"])
    return str(made.json()["id"])


async def contact_id_of(client: Client, headers: dict[str, str], address: str) -> str:
    """The contact the background registration made (polling: it happens after the answer)."""
    for _ in range(100):
        found = await client.get("/v1/contacts", params={"address": address}, headers=headers)
        if found.json()["items"]:
            return str(found.json()["items"][0]["id"])
        await asyncio.sleep(0.05)
    raise AssertionError("the contact was not registered")


async def test_opt_in_page_with_a_code_grants_consent(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str]
) -> None:
    assert settings.kek and settings.index_key
    disclosure = "Garden news by email, monthly.\n  Unsubscribe any time."
    optin = await make_program(client, pool, as_admin, disclosure)
    page = await client.get(f"/programs/{optin}/opt-in")
    assert page.status_code == 200
    assert disclosure.replace("\n", "\n") in page.text.replace("&#39;", "'")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    address = pii.email()
    sent = await client.post(
        f"/programs/{optin}/code",
        data={
            "_csrf_token": csrf_of(page.text),
            "channel": "email",
            "address": address,
            "action": "opt_in",
            "disclosure_version": "1",
        },
    )
    assert sent.status_code == 200, sent.text
    assert f'id="code-address">{address}<' in sent.text  # theirs, in their own session: in full
    contact = await contact_id_of(client, as_admin, address)
    code = await latest_code(pool, settings.kek, settings.index_key, contact)
    done = await client.post(
        f"/programs/{optin}/confirm",
        data={"_csrf_token": csrf_of(sent.text), "code": code, "action": "opt_in", "disclosure_version": "1"},
    )
    assert done.status_code == 200, done.text
    assert 'id="consent-status">You get these emails' in done.text
    state = await client.get(
        "/v1/consent", params={"contact_id": contact, "optin_id": optin, "channel": "email"}, headers=as_admin
    )
    assert state.json()["status"] == "opted_in"

    prefs = await client.get("/preferences")
    assert address in prefs.text  # the contact's own page: the one place in clear
    out = await client.post(
        "/preferences/consents",
        data={"_csrf_token": csrf_of(prefs.text), "optin_id": optin, "action": "opt_out"},
        follow_redirects=False,
    )
    assert out.status_code == 303
    state = await client.get(
        "/v1/consent", params={"contact_id": contact, "optin_id": optin, "channel": "email"}, headers=as_admin
    )
    assert state.json()["status"] == "opted_out"


async def test_a_form_post_without_its_csrf_token_is_refused(client: Client) -> None:
    await form_token(client, "/preferences")
    refused = await client.post("/preferences/code", data={"channel": "email", "address": pii.email()})
    assert refused.status_code == 403
    assert "Form refused" in refused.text


async def test_a_changed_disclosure_is_shown_again_before_anyone_opts_in(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str]
) -> None:
    assert settings.kek and settings.index_key
    optin = await make_program(client, pool, as_admin, "Version one of the text.")
    page = await client.get(f"/programs/{optin}/opt-in")
    address = pii.email()
    sent = await client.post(
        f"/programs/{optin}/code",
        data={
            "_csrf_token": csrf_of(page.text),
            "channel": "email",
            "address": address,
            "action": "opt_in",
            "disclosure_version": "1",
        },
    )
    changed = await client.patch(f"/v1/optins/{optin}", json={"disclosure": "Version two."}, headers=as_admin)
    await wait_for_position(pool, int(changed.headers["ledger-position"]), ["optins"])
    contact = await contact_id_of(client, as_admin, address)
    wrong = await client.post(
        f"/programs/{optin}/confirm",
        data={
            "_csrf_token": csrf_of(sent.text),
            "code": "12345x",
            "action": "opt_in",
            "disclosure_version": "1",
        },
    )
    assert wrong.status_code == 422 and "6 digits" in wrong.text
    code = await latest_code(pool, settings.kek, settings.index_key, contact)
    refused = await client.post(
        f"/programs/{optin}/confirm",
        data={"_csrf_token": csrf_of(sent.text), "code": code, "action": "opt_in", "disclosure_version": "1"},
    )
    assert refused.status_code == 409
    assert "Version two." in refused.text and "changed while you were confirming" in refused.text
    assert "no new code is needed" in refused.text and "Opt in now" in refused.text  # no empty form first
    state = await client.get(
        "/v1/consent", params={"contact_id": contact, "optin_id": optin, "channel": "email"}, headers=as_admin
    )
    assert state.json()["status"] == "unknown"
    # The code proved the address: one step now, with the text just shown.
    applied = await client.post(
        f"/programs/{optin}/apply",
        data={"_csrf_token": csrf_of(refused.text), "action": "opt_in", "disclosure_version": "2"},
    )
    assert applied.status_code == 200, applied.text[-1500:]
    assert 'id="recorded-disclosure">Version two.' in applied.text


async def test_code_requests_share_the_apis_rate_limit(client: Client) -> None:
    token = await form_token(client, "/preferences")
    address = pii.email()
    for n in range(6):
        if n % 2:  # the JSON API and the page draw on one budget per address
            answer = await client.post(
                "/v1/public/verifications", json={"channel": "email", "address": address}
            )
        else:
            form = {"_csrf_token": token, "channel": "email", "address": address}
            answer = await client.post("/preferences/code", data=form)
        assert answer.status_code == (429 if n == 5 else 200 if n % 2 == 0 else 202), (n, answer.text)
    assert "Too many" in answer.text or "too many" in answer.text
