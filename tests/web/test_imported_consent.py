"""The console's consent table names how each decision came about: an opt-in whose deciding
event came from an import says "imported" (the sender's statement, never our proof); one the
contact or staff made says its own source."""

from __future__ import annotations

import re

import asyncpg
import pytest

from api.composition import Components
from projections.runner import wait_for_position
from tests import pii
from tests.api.channels import Client, program
from tests.api.conftest import AuthHeaders
from tests.web.test_console_pages import log_in

pytestmark = pytest.mark.integration
HEADER = "address,channel,program,status,when,source,evidence\n"


def source_of(page: str, program_name: str) -> str:
    """The Source cell of the consent table's row for `program_name`."""
    row = re.search(rf"<tr><td>{program_name}</td>.*?</tr>", page, re.S)
    assert row is not None, page
    cell = re.search(r'<td class="source">(.*?)</td>', row.group(0), re.S)
    assert cell is not None
    return re.sub(r"<[^>]+>", "", cell.group(1)).strip()


async def test_an_imported_opt_in_says_imported_on_the_contact_page(
    client: Client, auth_headers: AuthHeaders, auth_services: Components, pool: asyncpg.Pool
) -> None:
    staff = await auth_headers("staff")
    offers = await program(client, staff, ["email"], name="Offers")
    news = await program(client, staff, ["email"], name="News")
    address = pii.email()
    body = (
        HEADER
        + f"{address},email,{offers},opted_in,2024-05-01T10:00:00Z,shop till,signed the paper form\n"
        + f"{address},email,{news},opted_in,2024-05-01T10:00:00Z,shop till,signed the paper form\n"
    )
    head = (await client.get("/ready")).json()["ledger_position"]  # both programs known to imports
    done = await client.post(
        "/v1/imports",
        params={"min_position": head},
        content=body,
        headers=staff | {"content-type": "text/csv"},
    )
    assert done.status_code == 200, done.text
    contact_id = await auth_services.contacts.find_text("email", address)
    assert contact_id is not None
    # Staff then record an opt-out from News: that decision is theirs, not the import's.
    out = await client.post(
        "/v1/consent-requests",
        json={"optin_id": news, "contact_id": str(contact_id), "action": "opt_out", "reason": "asked"},
        headers=staff,
    )
    assert out.status_code in (200, 201, 202), out.text

    await wait_for_position(pool, int(out.headers["ledger-position"]), ["consent_state", "contacts"])
    await log_in(client, auth_services, pool, "staff")
    page = await client.get(f"/console/contacts/{contact_id}")
    assert page.status_code == 200
    assert source_of(page.text, "Offers") == "imported"
    assert source_of(page.text, "News") != "imported" and source_of(page.text, "News")
    assert address not in page.text
