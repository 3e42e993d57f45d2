"""A provider's "recipient unsubscribed" refusal (Twilio error 21610) is a channel opt-out.

The carrier keeps a STOP the contact sent to the provider's number even when the ledger never saw
it; the provider then refuses every message with 21610. The ledger records that as a channel
opt-out with source `provider` (and dead-letters the refused message, without retrying it), so it
stops sending there at once and shows why.
"""

from __future__ import annotations

from uuid import UUID

import pytest

from adapters.postgres.event_store import PostgresEventStore
from ledger.channel_optout import ChannelOptOut, channel_optout_id
from ledger.repository import Repository
from tests import pii
from tests.api.channels import Client, contact, message, program, send
from tests.api.conftest import AuthHeaders
from tests.api.test_sms_channel import provider, provider_and_url, settings, status  # noqa: F401
from tests.fakes.twilio import Provider

pytestmark = pytest.mark.integration


async def test_a_21610_refusal_opts_the_number_out_of_the_channel_and_is_not_retried(
    client: Client,
    provider: Provider,  # noqa: F811 (the fixture imported above)
    store: PostgresEventStore,
    auth_headers: AuthHeaders,
) -> None:
    staff = await auth_headers("staff")
    offers = await program(client, staff, ["sms"])
    orders = await program(client, staff, ["sms"], purpose="transactional", name="Orders")
    number = pii.phone()
    person = await contact(client, staff, "sms", number)
    provider.unsubscribed.add(number)

    refused = await send(client, staff, contact_id=person, optin_id=orders, kind="transactional",
                         variables={"message": "Your parcel ships today."})  # fmt: skip
    assert refused.status_code == 202, refused.text
    message_id = refused.json()["message_id"]
    dead = await message(client, staff, message_id, "dead_lettered")
    assert dead["message"]["attempts"] == 1
    failure = dead["events"][-1]["details"]
    assert (failure["category"], failure["code"]) == ("recipient_opted_out", "21610"), failure
    assert len(provider.requests_for(message_id)) == 1
    assert await status(client, staff, orders, person) == "opted_out"
    assert await status(client, staff, offers, person) == "opted_out"

    stream = await store.read_stream(channel_optout_id(UUID(person), "sms"))
    events = [Repository(store).mapper.to_domain_event(e) for e in stream]
    (opted_out,) = [e for e in events if isinstance(e, ChannelOptOut.OptedOut)]
    assert opted_out.evidence.source == "provider"
    assert (opted_out.evidence.actor.kind, opted_out.evidence.actor.id) == ("system", "twilio")

    before = len(provider.requests)
    blocked = await send(client, staff, contact_id=person, optin_id=orders, kind="transactional",
                         variables={"message": "Your parcel ships."})  # fmt: skip
    assert blocked.status_code == 409 and blocked.json()["reason"] == "channel_opted_out"
    assert len(provider.requests) == before
