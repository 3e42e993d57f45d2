"""What a webhook says: the Standard Webhooks payload (`type`, `timestamp`, `data`) of each event.

`consent.changed` carries the consent decision (`ledger.decision`) in force after the change and
the event that caused it; `contact.erased` only the contact's id; `message.status` the message's
new status. Addresses appear masked only: a webhook is a copy of our data at someone else's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from ledger.decision import ConsentDecision
from ledger.message import Message
from ledger.vocabulary import Channel

MESSAGE_STATUSES: dict[str, str] = {
    Message.Queued.TOPIC: "queued",
    Message.Blocked.TOPIC: "blocked",
    Message.Held.TOPIC: "held",
    Message.Sent.TOPIC: "sent",
    Message.Failed.TOPIC: "retrying",
    Message.DeadLettered.TOPIC: "dead_lettered",
    Message.Cancelled.TOPIC: "cancelled",
    Message.Delivered.TOPIC: "delivered",
    Message.Undelivered.TOPIC: "undelivered",
}
"""Message events that are a `message.status` webhook, and the status each one reports."""

_ENCODER = msgspec.json.Encoder()


def payload(event_type: str, timestamp: datetime, data: dict[str, Any]) -> bytes:
    """The body as sent and signed (compact JSON, fields in a fixed order)."""
    return _ENCODER.encode({"type": event_type, "timestamp": timestamp, "data": data})


def consent_changed(
    *,
    contact_id: UUID,
    optin_id: UUID | None,
    channel: Channel,
    address: str | None,
    decision: ConsentDecision,
    cause_topic: str,
    cause_position: int,
    source: str | None,
) -> dict[str, Any]:
    """`address` must already be masked (the projection masks it, never the payload)."""
    return {
        "contact_id": contact_id,
        "optin_id": optin_id,
        "channel": channel,
        "address": address,
        "decision": {
            "status": decision.status,
            "since": decision.since,
            "position": decision.position,
            "topic": decision.topic,
        },
        "cause": {"topic": cause_topic, "position": cause_position, "source": source},
    }


def contact_erased(contact_id: UUID, position: int) -> dict[str, Any]:
    return {"contact_id": contact_id, "position": position}


def message_status(
    message_id: UUID, contact_id: UUID, topic: str, position: int, detail: str | None
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "contact_id": contact_id,
        "status": MESSAGE_STATUSES[topic],
        "position": position,
        "detail": detail,
    }
