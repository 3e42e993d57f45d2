"""The outbox: what the worker still has to send, codes and messages alike, kept from the events.

A code joins when it is issued and leaves when it is confirmed, locked or expired; a message joins
when queued and leaves once sent, dead-lettered or cancelled; a failure moves its next attempt.
So a rebuild gives back exactly the unfinished work, never something already sent. Each batch
that adds work wakes the worker (`NOTIFY outbox`, delivered when the batch commits).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.postgres.pool import Connection
from ledger.contact import Contact
from ledger.message import Message, code_message_id
from ledger.verification import Verification
from projections.projection import Envelope

_DONE = (Message.Sent, Message.DeadLettered, Message.Cancelled)
_CLOSED = (Verification.Confirmed, Verification.Locked, Verification.Expired)
_INSERT = (
    "INSERT INTO outbox (id, contact_id, channel, kind, verification_id, due_at, created_at, position) "
    "VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (id) DO NOTHING"
)
_FAILED = (
    "UPDATE outbox o SET attempts = u.attempts, due_at = u.due_at, position = u.position "
    "FROM unnest($1::uuid[], $2::int[], $3::timestamptz[], $4::bigint[]) "
    "AS u(id, attempts, due_at, position) "
    "WHERE o.id = u.id AND o.position < u.position"
)


class OutboxProjection:
    name = "outbox"
    tables: tuple[str, ...] = ("outbox",)
    topics: frozenset[str] = frozenset(
        c.TOPIC
        for c in (Verification.Created, *_CLOSED, Message.Queued, Message.Failed, *_DONE, Contact.Erased)
    )

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        changes = _Changes()
        for envelope in batch:
            changes.add(envelope)
        await changes.write(conn)


class _Changes:
    """A batch's changes to the outbox, netted in memory and written in a few statements.

    Written as deletes, then inserts, then updates, which gives what applying the events one by
    one gives: a delete reaches the rows there before the batch in the database, and those the
    batch added before it in memory (taken out of `added`); an insert adds only a row not there
    (`ON CONFLICT DO NOTHING`: a code's message is added both when the code is issued and when
    its message is queued, and the first stays); a failure's update reaches a row only if it was
    there at the failure's position (`o.position < u.position`: a row added later in the batch
    has the position of its event). That a delete by verification or contact can be netted in
    memory rests on a row's id fixing its verification and contact (the same in every insert).
    """

    def __init__(self) -> None:
        self.added: dict[UUID, tuple[Any, ...]] = {}
        # The ids added, by verification and by contact (for the deletes that name those).
        self.added_by_verification: dict[UUID, list[UUID]] = {}
        self.added_by_contact: dict[UUID, list[UUID]] = {}
        self.ids: set[UUID] = set()
        self.verifications: set[UUID] = set()
        self.contacts: set[UUID] = set()
        self.failures: dict[UUID, tuple[UUID, int, datetime, int]] = {}
        self.wake = False

    def add(self, envelope: Envelope) -> None:
        event, at, position = envelope.event, envelope.recorded_at, envelope.position
        if isinstance(event, Verification.Created):
            kind = "optin_invite" if event.action == "opt_in" and event.optin_id else "verification_code"
            row = (code_message_id(event.originator_id), event.contact_id, event.channel, kind)
            self._insert((*row, event.originator_id, at, position))
        elif isinstance(event, Message.Queued):
            row = (event.originator_id, event.contact_id, event.channel, event.kind)
            self._insert((*row, event.basis.verification_id, at, position))
        elif isinstance(event, Message.Failed):
            # The last failure of a message is the one that stands (each sets every column).
            self.failures[event.originator_id] = (
                event.originator_id,
                event.attempt,
                event.retry_at,
                position,
            )
        elif isinstance(event, _DONE):
            self.ids.add(event.originator_id)
            self.added.pop(event.originator_id, None)
        elif isinstance(event, _CLOSED):
            self._delete(self.added_by_verification, event.originator_id, self.verifications)
        elif isinstance(event, Contact.Erased):
            self._delete(self.added_by_contact, event.originator_id, self.contacts)

    def _insert(self, row: tuple[Any, ...]) -> None:
        self.wake = True
        if row[0] not in self.added:
            self.added[row[0]] = row
            self.added_by_verification.setdefault(row[4], []).append(row[0])
            self.added_by_contact.setdefault(row[1], []).append(row[0])

    def _delete(self, added_by: dict[UUID, list[UUID]], key: UUID, keys: set[UUID]) -> None:
        keys.add(key)
        for row_id in added_by.pop(key, ()):
            self.added.pop(row_id, None)

    async def write(self, conn: Connection) -> None:
        if self.ids or self.verifications or self.contacts:
            await conn.execute(
                "DELETE FROM outbox WHERE id = ANY($1::uuid[]) OR verification_id = ANY($2::uuid[]) "
                "OR contact_id = ANY($3::uuid[])",
                list(self.ids), list(self.verifications), list(self.contacts),
            )  # fmt: skip
        if self.contacts:
            await conn.execute(
                "DELETE FROM dev_outbox WHERE contact_id = ANY($1::uuid[])", list(self.contacts)
            )
        if self.added:
            await conn.executemany(_INSERT, list(self.added.values()))
        if self.failures:
            await conn.execute(_FAILED, *map(list, zip(*self.failures.values(), strict=True)))
        if self.wake:
            await conn.execute("SELECT pg_notify('outbox', '')")
