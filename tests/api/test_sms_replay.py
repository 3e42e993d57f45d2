"""Issue 15 item 7: a signed inbound SMS webhook, replayed word for word, changes nothing.

A provider's signature has no time in it, so a request captured once (a proxy's log, a leaked
capture) stays validly signed forever. Before, a replay was noticed only when the original had
been answered with a reply: a START that changed nothing at the time could be replayed after a
STOP and subscribe the number again.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from adapters.sms.signature import twilio_signature
from tests import pii
from tests.api.channels import Client, contact, program, send
from tests.api.conftest import AuthHeaders
from tests.api.test_sms_channel import (  # noqa: F401 (fixtures)
    PUBLIC,
    provider,
    provider_and_url,
    settings,
    status,
)
from tests.fakes.twilio import NUMBER, SID, TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("provider")]
INBOUND = "/v1/webhooks/sms/inbound"


class Captured:
    """One signed inbound request exactly as the provider sent it, to be sent again."""

    def __init__(self, number: str, body: str, sid: str) -> None:
        self.form = {"AccountSid": SID, "MessageSid": sid, "From": number, "To": NUMBER, "Body": body}
        self.headers = {"X-Twilio-Signature": twilio_signature(TOKEN, PUBLIC + INBOUND, self.form)}

    async def send(self, client: Client) -> None:
        answered = await client.post(INBOUND, data=self.form, headers=self.headers)
        assert answered.status_code == 200, answered.text


async def test_an_old_signed_start_replayed_after_stop_changes_nothing(
    client: Client, pool: asyncpg.Pool, auth_headers: AuthHeaders
) -> None:
    service, staff = await auth_headers("service"), await auth_headers("staff")
    offers = await program(client, staff, ["sms"])
    number = pii.phone()
    person = await contact(client, service, "sms", number)
    invited = await send(
        client,
        service,
        "/v1/messages/send_with_consent",
        contact_id=person,
        optin_id=offers,
        kind="promotional",
        variables={"message": "Sale!"},
    )
    assert invited.json()["status"] == "diverted", invited.text  # an invite: "reply YES"
    await Captured(number, "YES", "SMreplay1").send(client)
    assert await status(client, staff, offers, person) == "opted_in"
    start = Captured(number, "START", "SMreplay2")  # nothing left to give back: no reply to it
    await start.send(client)
    await Captured(number, "STOP", "SMreplay3").send(client)
    assert await status(client, staff, offers, person) == "opted_out"
    head = await pool.fetchval("SELECT max(notification_id) FROM events")

    await start.send(client)  # the captured request again, byte for byte: a valid signature
    assert await status(client, staff, offers, person) == "opted_out"
    since = await pool.fetch("SELECT topic FROM events WHERE notification_id > $1", head)
    # Nothing the replay would write (the STOP's confirmation may be recording its sending).
    assert {r["topic"] for r in since} <= {"message.sent", "message.delivered"}
    # Each keyword acted on is recorded once, by its provider id, with what it matched.
    recorded = await pool.fetch(
        "SELECT state FROM events WHERE topic = 'sms.inbound_received' ORDER BY notification_id"
    )
    assert [bytes(r["state"]).count(b"SMreplay") for r in recorded] == [1, 1, 1]
    assert number.encode() not in b"".join(bytes(r["state"]) for r in recorded)


async def test_two_copies_of_one_stop_at_once_act_once(
    client: Client, pool: asyncpg.Pool, auth_headers: AuthHeaders
) -> None:
    staff = await auth_headers("staff")
    await program(client, staff, ["sms"])
    number = pii.phone()
    await contact(client, staff, "sms", number)
    stop = Captured(number, "STOP", "SMtwice")
    await asyncio.gather(stop.send(client), stop.send(client))
    topics = [r["topic"] for r in await pool.fetch("SELECT topic FROM events ORDER BY notification_id")]
    assert topics.count("sms.inbound_received") == 1
    assert topics.count("channel.opted_out") == 1
    assert topics.count("message.queued") == 1  # one confirmation
