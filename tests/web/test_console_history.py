"""A contact's history in the console: each event said in words with who did it and through
what, the client masked, the disclosure version shown (its text on demand, and every version a
click away), and the inclusion proof for those who may read proofs."""

from __future__ import annotations

import asyncio
import html

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.settings import Settings
from api.auth.tokens import issue_staff_token
from api.composition import Components
from ledger.vocabulary import SYSTEM
from projections.runner import wait_for_position
from tests import pii
from tests.codes import latest_code
from tests.web.conftest import csrf_of
from tests.web.test_console_pages import log_in

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]
REQUESTER = "ringo.requester@staff.example.org"
PASSWORD = "history-walrus-lantern-58"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


async def opted_in_contact(
    client: Client, pool: asyncpg.Pool, settings: Settings, admin: dict[str, str], auth: Components
) -> tuple[str, str, int]:
    """A program on its second disclosure version, and a contact who opted in from a browser when
    `REQUESTER` asked: (program, contact, the position of the opt-in)."""
    assert settings.kek and settings.index_key
    user, _ = await auth.accounts.create(email=REQUESTER, role="staff", password=PASSWORD, actor=SYSTEM)
    requester = {"Authorization": f"Bearer {issue_staff_token(settings.token_key, user.id)}"}
    made = await client.post(
        "/v1/optins",
        json={"name": "Owl prowl", "purpose": "marketing", "channels": ["email"], "disclosure": "Owls, v1."},
        headers=admin,
    )
    optin = made.json()["id"]
    await client.patch(f"/v1/optins/{optin}", json={"disclosure": "Owls at dusk, v2."}, headers=admin)
    asked = await client.post(
        "/v1/consent-requests",
        json={"channel": "email", "address": pii.email(), "optin_id": optin, "action": "opt_in"},
        headers=requester,
    )
    assert asked.status_code == 202, asked.text
    contact, verification = asked.json()["contact_id"], asked.json()["verification_id"]
    code = await latest_code(pool, settings.kek, settings.index_key, contact)
    confirmed = await client.post(
        f"/v1/verifications/{verification}/confirm", json={"code": code}, headers={"User-Agent": BROWSER}
    )
    assert confirmed.status_code == 200, confirmed.text
    position = int(confirmed.headers["ledger-position"])
    await wait_for_position(pool, position, ["timeline", "optins"])
    return optin, contact, position


async def test_the_history_says_what_happened_who_did_it_and_shows_the_evidence(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    auth_services: Components,
    as_admin: dict[str, str],
) -> None:
    optin, contact, position = await opted_in_contact(client, pool, settings, as_admin, auth_services)
    await log_in(client, auth_services, pool, "auditor")
    page = html.unescape((await client.get(f"/console/contacts/{contact}")).text)
    assert "Asked to opt in to Owl prowl by email: a code was sent to confirm." in page
    assert "Opted in to Owl prowl by email." in page
    assert "By staff member r***@s***.org" in page and REQUESTER not in page  # masked for an auditor
    assert "Firefox on Linux" in page and BROWSER not in page and "rv:128.0" not in page
    assert "Disclosure text shown: version 2" in page and "Owls at dusk, v2." in page
    assert f'href="/console/programs/{optin}/disclosures#v2"' in page
    assert "{'" not in page and "evidence.actor" not in page  # no raw dict dump any more

    versions = html.unescape((await client.get(f"/console/programs/{optin}/disclosures")).text)
    assert 'id="v1"' in versions and "Owls, v1." in versions and "Owls at dusk, v2." in versions

    link = f'href="/console/ledger/proof/{position}"'
    assert link in page
    for _ in range(100):  # the tree follower adds the event to the tree within moments
        proof = await client.get(f"/console/ledger/proof/{position}")
        if proof.status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert proof.status_code == 200, proof.text
    assert proof.text.startswith("c2sp.org/tlog-proof@v1\n") and f"index {position - 1}" in proof.text
    assert "default-src 'none'" in proof.headers["content-security-policy"]


async def test_staff_see_the_history_without_proofs_and_admins_see_staff_emails_in_full(
    client: Client,
    pool: asyncpg.Pool,
    settings: Settings,
    auth_services: Components,
    as_admin: dict[str, str],
) -> None:
    _, contact, position = await opted_in_contact(client, pool, settings, as_admin, auth_services)
    await log_in(client, auth_services, pool, "staff")
    page = await client.get(f"/console/contacts/{contact}")
    assert "Opted in to Owl prowl by email." in html.unescape(page.text)
    assert "/console/ledger/proof/" not in page.text
    assert (await client.get(f"/console/ledger/proof/{position}")).status_code == 403
    await client.post("/console/logout", data={"_csrf_token": csrf_of(page.text)}, follow_redirects=False)

    await log_in(client, auth_services, pool, "admin")
    seen = html.unescape((await client.get(f"/console/contacts/{contact}")).text)
    assert f"By staff member {REQUESTER}" in seen  # staff are not contacts: in full, for admins
    users = html.unescape((await client.get("/console/users")).text)
    assert REQUESTER in users and "admin-console@staff.example.org" in users
