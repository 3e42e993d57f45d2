"""Opt-out as easy as opt-in, for applications too: a service key records the opt-out a contact
asked it for, at once and with no code, and the evidence names the key; an opt-in it asks for
stays pending until the contact's code, and the code it relays is recorded as relayed by it."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.postgres.event_store import PostgresEventStore
from adapters.settings import Settings
from ledger.consent import Consent, consent_id
from ledger.repository import Repository
from tests import pii
from tests.api.conftest import AuthHeaders
from tests.api.test_consent_flow import consent, program
from tests.codes import codes_sent, latest_code

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]


async def history(store: PostgresEventStore, contact: str, optin: str) -> list[Consent.Event]:
    repository = Repository(store)
    stream = await store.read_stream(consent_id(UUID(contact), UUID(optin), "email"))
    return [repository.mapper.to_domain_event(e) for e in stream]  # type: ignore[misc]


async def test_a_service_key_records_an_opt_out_at_once_and_an_opt_in_waits_for_the_code(
    client: Client,
    pool: asyncpg.Pool,
    store: PostgresEventStore,
    settings: Settings,
    auth_headers: AuthHeaders,
) -> None:
    assert settings.kek and settings.index_key
    admin, app = await auth_headers("admin"), await auth_headers("service")
    key_id = str(await pool.fetchval("SELECT id FROM api_keys"))
    optin = await program(client, admin)

    asked = await client.post(
        "/v1/consent-requests",
        json={"optin_id": optin, "action": "opt_in", "channel": "email", "address": pii.email()},
        headers=app,
    )
    assert asked.status_code == 202, asked.text
    contact, verification = asked.json()["contact_id"], asked.json()["verification_id"]
    position = asked.headers["ledger-position"]
    assert (await consent(client, app, optin, contact, min_position=position))["status"] == "pending"

    code = await latest_code(pool, settings.kek, settings.index_key, contact)
    relayed = await client.post(f"/v1/verifications/{verification}/confirm", json={"code": code}, headers=app)
    assert relayed.status_code == 200, relayed.text
    assert relayed.json()["status"] == "opted_in"

    out = await client.post(
        "/v1/consent-requests",
        json={
            "optin_id": optin,
            "action": "opt_out",
            "contact_id": contact,
            "reason": "pressed unsubscribe in the app",
        },
        headers=app,
    )
    assert out.status_code == 200, out.text
    assert out.json() == {"contact_id": contact, "status": "opted_out", "verification_id": None}
    now = await consent(client, app, optin, contact, min_position=out.headers["ledger-position"])
    assert (now["status"], now["event_topic"]) == ("opted_out", "consent.withdrawn")
    assert await codes_sent(pool, contact) == 1  # the opt-in's code; none for the opt-out

    granted, withdrawn = [e for e in await history(store, contact, optin) if hasattr(e, "evidence")][-2:]
    assert isinstance(granted, Consent.Granted) and isinstance(withdrawn, Consent.Withdrawn)
    assert (granted.evidence.actor.kind, granted.evidence.source) == ("contact", "app")
    assert granted.evidence.relay is not None
    assert (granted.evidence.relay.kind, granted.evidence.relay.id) == ("api_key", key_id)
    assert granted.evidence.verification_id == UUID(verification)
    proof = withdrawn.evidence
    assert (proof.actor.kind, proof.actor.id, proof.source) == ("api_key", key_id, "app")
    assert proof.verification_id is None and proof.sealed_reason is not None
    key = await PostgresDataKeys(pool, settings.kek).get(UUID(contact))
    assert NaclSealer(settings.index_key).open(key, proof.sealed_reason) == "pressed unsubscribe in the app"


async def test_a_code_typed_by_the_contact_names_no_relay(
    client: Client,
    pool: asyncpg.Pool,
    store: PostgresEventStore,
    settings: Settings,
    as_admin: dict[str, str],
) -> None:
    assert settings.kek and settings.index_key
    optin = await program(client, as_admin)
    asked = await client.post(
        "/v1/consent-requests",
        json={"optin_id": optin, "action": "opt_in", "channel": "email", "address": pii.email()},
        headers=as_admin,
    )
    contact, verification = asked.json()["contact_id"], asked.json()["verification_id"]
    code = await latest_code(pool, settings.kek, settings.index_key, contact)
    done = await client.post(f"/v1/verifications/{verification}/confirm", json={"code": code})
    assert done.status_code == 200, done.text
    granted = (await history(store, contact, optin))[-1]
    assert isinstance(granted, Consent.Granted)
    assert (granted.evidence.source, granted.evidence.relay) == ("web", None)


async def test_a_service_key_may_not_record_as_staff(client: Client, auth_headers: AuthHeaders) -> None:
    admin, app = await auth_headers("admin"), await auth_headers("service")
    optin = await program(client, admin)
    refused = await client.post(
        "/v1/consent-requests",
        json={
            "optin_id": optin,
            "action": "opt_out",
            "channel": "email",
            "address": pii.email(),
            "source": "admin",
        },
        headers=app,
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
