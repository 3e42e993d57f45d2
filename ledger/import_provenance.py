"""Provenance of an imported consent: what the sender stated, never verified by this service.

An imported opt-in counts as `opted_in` for the consent decision, but its evidence says
`source: import` and carries this record, so evidence bundles, pages and the API show it as
imported, with the sender's own statement (sealed: free text may hold personal data).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

import msgspec

from ledger.vocabulary import Channel

_NAMESPACE = uuid.UUID("3c9b2f4e-7a1d-4b8e-a5c6-696d706f7274")


class Imported(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    import_id: UUID
    """The import (the same file always has the same id: the SHA-256 of its bytes)."""
    line: int
    row_key: UUID
    """The row, deterministically: an import that meets it again changes nothing."""
    stated_at: datetime
    sealed_statement: bytes
    """`{"source": …, "evidence": …}` as the sender stated them, sealed with the contact's key."""


def row_key(contact_id: UUID, optin_id: UUID, channel: Channel, status: str, stated_at: datetime) -> UUID:
    """One row's identity (never derived from the address: the ledger must not hold that)."""
    return uuid.uuid5(
        _NAMESPACE, f"/import-row/{contact_id}/{optin_id}/{channel}/{status}/{stated_at.isoformat()}"
    )


def import_id(digest: bytes) -> UUID:
    return uuid.uuid5(_NAMESPACE, f"/import/{digest.hex()}")
