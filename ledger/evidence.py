"""A contact's evidence bundle: their events exactly as hashed, each with its tlog-proof, the
disclosure texts they name, their data key; and the event that records each export.

The format is what `verifier/optin_verify.py` checks, offline:

    {"format": "optin-ledger.evidence", "version": 1, "origin": …, "contact_id": …,
     "generated_at": …, "checkpoint": "<signed note>", "data_key": "<base64>" | null,
     "events": [{"position", "originator_id", "originator_version", "topic", "recorded_at",
                 "state": "<base64 of the stored bytes>", "proof": "<c2sp.org/tlog-proof@v1>"}],
     "disclosures": [{"optin_id", "version", "sha256", "text", "position"}]}

Each event carries exactly the fields the ledger hashes (`ledger/chain.py`); its leaf is
SHA-256(0x00 ‖ those bytes) at index position − 1. Personal fields are ciphertext in `state`;
the data key opens them (null once the contact is erased: the bundle still verifies).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, event

from ledger.checkpoint import Checkpoint
from ledger.ports import RecordedEvent
from ledger.program import Program, disclosure_sha256
from ledger.vocabulary import Actor

FORMAT = "optin-ledger.evidence"
VERSION = 1


class EvidenceExport(Aggregate):
    """One export of a contact's evidence: who asked for it, when, and what it covered."""

    TOPIC = "evidence_export"

    class Created(Aggregate.Created):
        TOPIC = "evidence.exported"
        contact_id: UUID
        checkpoint_size: int
        events: int
        actor: Actor

    @event(Created)
    def __init__(self, *, contact_id: UUID, checkpoint_size: int, events: int, actor: Actor) -> None:
        self.contact_id = contact_id


def record_export(contact_id: UUID, checkpoint_size: int, events: int, actor: Actor) -> EvidenceExport:
    return EvidenceExport(contact_id=contact_id, checkpoint_size=checkpoint_size, events=events, actor=actor)


class BundleEvent(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    recorded_at: datetime
    state: bytes
    proof: str


class Disclosure(msgspec.Struct, frozen=True, kw_only=True):
    """A disclosure text as a program event recorded it (and the event's position)."""

    optin_id: UUID
    version: int
    sha256: str
    text: str
    position: int


class EvidenceBundle(msgspec.Struct, frozen=True, kw_only=True):
    format: str
    version: int
    origin: str
    contact_id: UUID
    generated_at: datetime
    checkpoint: str
    data_key: bytes | None
    events: list[BundleEvent]
    disclosures: list[Disclosure]


def disclosures(program_events: Iterable[tuple[int, Any]]) -> list[Disclosure]:
    """Every disclosure text among decoded program events, given as (position, event)."""
    found = []
    for position, change in program_events:
        if isinstance(change, Program.Created):
            version, text = 1, change.disclosure
        elif isinstance(change, Program.DisclosureChanged):
            version, text = change.version, change.disclosure
        else:
            continue
        optin_id = UUID(str(change.originator_id))
        found.append(Disclosure(optin_id=optin_id, version=version, sha256=disclosure_sha256(text), text=text,
                                position=position))  # fmt: skip
    return found


def bundle(
    *,
    contact_id: UUID,
    checkpoint: Checkpoint,
    events: list[RecordedEvent],
    proofs: dict[int, str],
    texts: list[Disclosure],
    data_key: bytes | None,
    now: datetime,
) -> EvidenceBundle:
    """The bundle document; `events` in ledger order, each with its proof in `proofs`."""
    return EvidenceBundle(
        format=FORMAT,
        version=VERSION,
        origin=checkpoint.origin,
        contact_id=contact_id,
        generated_at=now,
        checkpoint=checkpoint.note,
        data_key=data_key,
        events=[
            BundleEvent(
                position=e.notification_id,
                originator_id=e.originator_id,
                originator_version=e.originator_version,
                topic=e.topic,
                recorded_at=e.recorded_at,
                state=bytes(e.state),
                proof=proofs[e.notification_id],
            )
            for e in events
        ],
        disclosures=texts,
    )
