"""The console shows email feedback: bounces and complaints per program and over time on the dashboard,
and in words on the contact's timeline."""

from __future__ import annotations

import html
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest

from adapters.settings import Settings
from api.composition import Components
from projections.runner import wait_for_position
from tests import pii
from tests.api.channels import Client, ask, confirm, contact, program, send
from tests.api.conftest import AuthHeaders
from tests.codes import latest_code
from tests.feedback_mail import arf, dsn
from tests.web.test_console_pages import log_in

pytestmark = pytest.mark.integration


def original(message_id: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["Subject"] = "OptIn Ledger <no-reply@localhost>", "Deals"
    mail["Message-ID"] = f"<{message_id}@localhost>"
    mail.set_content("10% off")
    return mail


async def report(client: Client, service: dict[str, str], message: Any) -> int:
    answer = await client.post("/v1/webhooks/email/feedback", content=message.as_bytes(),
                               headers={**service, "Content-Type": "message/rfc822"})  # fmt: skip
    assert answer.status_code == 200 and answer.json()["changed"], answer.text
    return int(answer.headers["ledger-position"])


async def test_the_dashboard_and_the_timeline_show_bounces_and_complaints(
    client: Client,
    auth_headers: AuthHeaders,
    auth_services: Components,
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    staff, service = await auth_headers("staff"), await auth_headers("service")
    optin = await program(client, staff, ["email"])
    address = pii.email()
    person = await contact(client, staff, "email", address)
    verification = await ask(client, staff, optin, person)
    assert settings.kek and settings.index_key
    await confirm(client, verification, await latest_code(pool, settings.kek, settings.index_key, person))
    queued = await send(client, staff, contact_id=person, optin_id=optin, kind="promotional",
                        variables={"subject": "Deals", "message": "10% off"})  # fmt: skip
    assert queued.status_code == 202, queued.text
    sent = original(queued.json()["message_id"])
    await report(client, service, arf(to="fbl@localhost", original=sent))
    position = await report(
        client, service, dsn(to="bounces@localhost", original=sent, final_recipient=address)
    )
    await wait_for_position(pool, position, ["email_feedback", "timeline"])

    await log_in(client, auth_services, pool, "staff")
    dashboard = (await client.get("/console")).text
    assert "Email bounces and complaints per day" in dashboard
    row = dashboard.split('id="email-feedback"')[1].split("</table>")[0]
    cells = [c.split(">")[-1] for c in row.split("</td>")[:-1]]
    assert "Weekly offers" in row and cells == ["1", "0", "1"]  # hard, soft, complaints

    page = html.unescape((await client.get(f"/console/contacts/{person}")).text)
    assert "A message bounced permanently (status 5.1.1), reported by the feedback webhook" in page
    assert "The recipient reported a message as spam" in page
    assert "Opted out of this marketing program because the recipient reported a message as spam" in page
    assert "Email to this address is suppressed after bounces (status 5.1.1)" in page
    assert address not in page
