"""Issue 15 item 10: signing out ends a contact's session on the server, not only in the browser.

Before, sign-out only cleared the cookie: a copy taken earlier (another tab, a shared computer's
browser profile, a stolen cookie) kept working for the session's 30 minutes.
"""

from __future__ import annotations

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.settings import Settings
from api.web.cookies import CONTACT, cookie_name
from tests import pii
from tests.codes import latest_code
from tests.web.conftest import csrf_of, form_token
from tests.web.test_contact_pages import contact_id_of

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]


async def signed_in(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str]
) -> tuple[str, str]:
    """Ask for a code on "My preferences", confirm it: the address and the session cookie."""
    assert settings.kek and settings.index_key
    address = pii.email()
    sent = await client.post(
        "/preferences/code",
        data={
            "_csrf_token": await form_token(client, "/preferences"),
            "channel": "email",
            "address": address,
        },
    )
    assert sent.status_code == 200, sent.text
    code = await latest_code(
        pool, settings.kek, settings.index_key, await contact_id_of(client, as_admin, address)
    )
    done = await client.post(
        "/preferences/confirm", data={"_csrf_token": csrf_of(sent.text), "code": code}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    cookie = client.cookies.get(cookie_name(settings, CONTACT))
    assert cookie
    return address, cookie


async def test_a_copied_session_cookie_stops_working_when_the_contact_signs_out(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str]
) -> None:
    address, copied = await signed_in(client, pool, settings, as_admin)
    copy = {"Cookie": f"{cookie_name(settings, CONTACT)}={copied}"}  # sent instead of the browser's
    assert address in (await client.get("/preferences", headers=copy)).text  # the copy works
    prefs = await client.get("/preferences")
    out = await client.post(
        "/preferences/sign-out", data={"_csrf_token": csrf_of(prefs.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    assert not client.cookies.get(cookie_name(settings, CONTACT))  # the browser's is cleared, as before
    after = await client.get("/preferences", headers=copy)  # and the copy is refused by the server
    assert after.status_code == 200
    assert address not in after.text
    assert f'{cookie_name(settings, CONTACT)}=""' in after.headers["set-cookie"]  # told to drop it
    # The same session as a bearer token is refused too.
    bearer = await client.get("/v1/public/me", headers={"Authorization": f"Bearer {copied}"})
    assert bearer.status_code == 401
    assert bearer.json()["detail"] == "this session was signed out; ask for a new code"


async def test_signing_out_ends_only_that_session(
    client: Client, pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str]
) -> None:
    _, first = await signed_in(client, pool, settings, as_admin)
    client.cookies.clear()
    _, second = await signed_in(client, pool, settings, as_admin)
    prefs = await client.get("/preferences")
    await client.post("/preferences/sign-out", data={"_csrf_token": csrf_of(prefs.text)})
    mine = await client.get("/v1/public/me", headers={"Authorization": f"Bearer {second}"})
    other = await client.get("/v1/public/me", headers={"Authorization": f"Bearer {first}"})
    assert (mine.status_code, other.status_code) == (401, 200)
