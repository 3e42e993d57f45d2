"""Addresses revealed in an export: every time an admin asks for them, an event says who and what.

Exports are masked by default. An admin may ask for the addresses in clear (to move a list to
another system); that act is itself on the ledger, naming the program, the format and the admin.
"""

from __future__ import annotations

import uuid
from typing import Literal
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.vocabulary import Actor

ExportFormat = Literal["csv", "ndjson"]


class AddressExport(Aggregate):
    TOPIC = "address_export"

    class Created(Aggregate.Created):
        TOPIC = "export.addresses_revealed"
        optin_id: UUID
        format: str
        actor: Actor

    def __init__(self, *, optin_id: UUID, format: str, actor: Actor) -> None:
        self.optin_id = optin_id


def record_address_export(optin_id: UUID, fmt: ExportFormat, actor: Actor) -> AddressExport:
    return AddressExport._create(
        AddressExport.Created, id=uuid.uuid4(), optin_id=optin_id, format=fmt, actor=actor
    )
