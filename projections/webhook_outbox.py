"""The webhook outbox: for each event a registered endpoint subscribes to, one delivery row.

Endpoints are kept from their own events, in ledger order, so an endpoint receives exactly the
events recorded after it was registered. `consent.changed` fires when the consent decision
(`ledger.decision`, folded from the events up to this one) differs from the decision just before
it; a channel-wide opt-out or resubscription is reported for the channel (no program). Delivery
ids are deterministic, so a rebuild finds its rows already there and delivers nothing twice.
Each batch that adds work wakes the delivery worker (`NOTIFY webhooks`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from adapters.crypto.data_keys import KeyWrapper, fetch_keys
from adapters.postgres.pool import Connection
from ledger.channel_optout import ChannelOptOut
from ledger.codec import LedgerMapper
from ledger.consent import Consent
from ledger.contact import Contact
from ledger.decision import ConsentDecision, bearing_streams, decide_at
from ledger.masking import mask_address
from ledger.message import Message
from ledger.ports import Sealer
from ledger.webhook_endpoint import WebhookEndpoint
from ledger.webhook_payloads import MESSAGE_STATUSES, consent_changed, contact_erased, message_status, payload
from projections.ledger_reads import history as read_history
from projections.projection import Envelope

_NAMESPACE = uuid.UUID("8a1f7d3e-5b2c-4e6a-9f0d-776562686f6b")
_CONSENT = (Consent.Requested, Consent.Granted, Consent.Withdrawn, Consent.Lapsed)
_CHANNEL = (ChannelOptOut.OptedOut, ChannelOptOut.Resubscribed)
_ENDPOINT = (WebhookEndpoint.Created, WebhookEndpoint.SecretRotated, WebhookEndpoint.Removed)
_INSERT = (
    "INSERT INTO webhook_deliveries (id, endpoint_id, event_type, position, payload, created_at, due_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (id) DO NOTHING"
)


def delivery_id(endpoint_id: UUID, position: int) -> UUID:
    """One delivery per endpoint and ledger event: the `webhook-id` its attempts share."""
    return uuid.uuid5(_NAMESPACE, f"/webhooks/{endpoint_id}/{position}")


class WebhookOutboxProjection:
    name = "webhook_outbox"
    tables: tuple[str, ...] = ("webhook_endpoints",)  # deliveries stay: they are the delivery log
    topics: frozenset[str] = frozenset(
        c.TOPIC for c in (*_ENDPOINT, *_CONSENT, *_CHANNEL, Contact.Erased)
    ) | frozenset(MESSAGE_STATUSES)

    def __init__(self, wrapper: KeyWrapper, sealer: Sealer, mapper: LedgerMapper | None = None) -> None:
        self.wrapper = wrapper
        self.sealer = sealer
        self.mapper = mapper or LedgerMapper()

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        endpoints: list[Any] | None = None
        added = False
        for envelope in batch:
            event = envelope.event
            if isinstance(event, _ENDPOINT):
                await self._endpoint(conn, envelope)
                endpoints = None
                continue
            if endpoints is None:
                endpoints = list(
                    await conn.fetch("SELECT id, owner, event_types FROM webhook_endpoints WHERE active")
                )
            if not endpoints:
                continue  # nobody listens: no work (an import of a million rows stays cheap)
            found = await self._webhook(conn, envelope, endpoints)
            if found is None:
                continue
            event_type, data, owner = found
            body = payload(event_type, envelope.recorded_at, data)
            for endpoint in endpoints:
                if event_type in endpoint["event_types"] and (
                    endpoint["owner"] in (None, owner) or owner is None
                ):
                    await conn.execute(
                        _INSERT, delivery_id(endpoint["id"], envelope.position), endpoint["id"],
                        event_type, envelope.position, body, envelope.recorded_at,
                    )  # fmt: skip
                    added = True
        if added:
            await conn.execute("SELECT pg_notify('webhooks', '')")

    async def _endpoint(self, conn: Connection, envelope: Envelope) -> None:
        event = envelope.event
        if isinstance(event, WebhookEndpoint.Created):
            await conn.execute(
                "INSERT INTO webhook_endpoints (id, owner, url, event_types, created_at, position) "
                "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                event.originator_id, event.owner, event.url, list(event.event_types),
                envelope.recorded_at, envelope.position,
            )  # fmt: skip
        elif isinstance(event, WebhookEndpoint.Removed):
            await conn.execute(
                "UPDATE webhook_endpoints SET active = false WHERE id = $1", event.originator_id
            )

    async def _webhook(
        self, conn: Connection, envelope: Envelope, endpoints: list[Any]
    ) -> tuple[str, dict[str, Any], str | None] | None:
        """The webhook this event is (type, data, owning application or None for all), if any."""
        event, position = envelope.event, envelope.position
        wanted = {t for e in endpoints for t in e["event_types"]}
        if isinstance(event, Contact.Erased) and "contact.erased" in wanted:
            return "contact.erased", contact_erased(event.originator_id, position), None
        if isinstance(event, _CONSENT + _CHANNEL) and "consent.changed" in wanted:
            data = await self._consent_changed(conn, envelope)
            return None if data is None else ("consent.changed", data, None)
        if envelope.topic in MESSAGE_STATUSES and "message.status" in wanted:
            detail = getattr(event, "reason", None) or getattr(event, "error", None)
            detail = detail or getattr(event, "provider_status", None)
            data = message_status(event.originator_id, event.contact_id, envelope.topic, position, detail)
            return "message.status", data, await self._message_owner(conn, event.originator_id)
        return None

    async def _consent_changed(self, conn: Connection, envelope: Envelope) -> dict[str, Any] | None:
        event, position = envelope.event, envelope.position
        optin_id: UUID | None = getattr(event, "optin_id", None) if isinstance(event, _CONSENT) else None
        history = await read_history(
            conn, self.mapper, bearing_streams(event.contact_id, optin_id, event.channel), position
        )
        before: ConsentDecision = decide_at([h for h in history if h[0] < position])
        after = decide_at(history)
        if before == after:
            return None
        evidence = getattr(event, "evidence", None)
        return consent_changed(
            contact_id=event.contact_id,
            optin_id=optin_id,
            channel=event.channel,
            address=await self._masked(conn, event.contact_id),
            decision=after,
            cause_topic=envelope.topic,
            cause_position=position,
            source=evidence.source if evidence is not None else None,
        )

    async def _masked(self, conn: Connection, contact_id: UUID) -> str | None:
        state = await conn.fetchval(
            "SELECT state FROM events WHERE originator_id = $1 AND originator_version = 1", contact_id
        )
        if state is None:
            return None
        created = self.mapper.decode(Contact.Created.TOPIC, contact_id, 1, state)
        keys = await fetch_keys(conn, self.wrapper, [contact_id])
        address = self.sealer.open(keys.get(contact_id), created.sealed_address)  # type: ignore[attr-defined]
        return mask_address(address) if address is not None else None

    async def _message_owner(self, conn: Connection, message_id: UUID) -> str | None:
        state = await conn.fetchval(
            "SELECT state FROM events WHERE originator_id = $1 AND originator_version = 1", message_id
        )
        if state is None:
            return None
        created = self.mapper.decode(Message.Created.TOPIC, message_id, 1, state)
        actor = created.actor  # type: ignore[attr-defined]
        return f"{actor.kind}:{actor.id}" if actor.id else actor.kind
