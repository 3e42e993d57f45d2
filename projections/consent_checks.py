"""Consent checks as applications ask them: one (by contact id or address; now, or as of a time)
or up to a thousand at once, each item answered on its own.

Now: the consent read model (`projections/consent_state.py`), one query whatever the count.
As of a time: the ledger's own events (`ledger.send_policy.consent_now`). Either way the rule
is `ledger.decision.decide`. An unknown program is a `NotFoundError`; in a bulk check, an item
that cannot be asked (a bad address, an unknown program) gets its own error and the rest are
answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol
from uuid import UUID

import asyncpg

from adapters.postgres.replica import ReadDatabase
from ledger.application.contacts import ContactRegistry
from ledger.codec import LedgerMapper
from ledger.decision import UNKNOWN, ConsentDecision
from ledger.errors import InvalidValueError, NotFoundError
from ledger.ports import EventStore
from ledger.send_policy import consent_now
from ledger.vocabulary import Channel
from projections import consent_state


class Asked(Protocol):
    """One question of a bulk check: exactly one of `contact_id` and `address` (the request's
    own rows are asked as they are, without a copy each)."""

    @property
    def optin_id(self) -> UUID: ...
    @property
    def channel(self) -> Channel: ...
    @property
    def contact_id(self) -> UUID | None: ...
    @property
    def address(self) -> str | None: ...


class Refusal(NamedTuple):
    """Why one item of a bulk check could not be asked: its `field`, the `problem`, 404 or 422."""

    field: str
    problem: str
    status: int


class Answers(NamedTuple):
    """A bulk check's answers, in the request's order, as columns (a thousand items: no object
    per item but the decision): each item's contact and decision, unless it is `refused`
    (then its decision is meaningless, and its contact None when it was never asked)."""

    contact_ids: list[UUID | None]
    decisions: list[ConsentDecision]
    refused: dict[int, Refusal]


ONE_CONTACT = "give exactly one of contact_id and address"


def _unknown_program(optin_id: UUID) -> str:
    return f"no program with id {optin_id}"


class ConsentChecks:
    """The consent reads of the API: `one` and `many`. `db` is where the request's read-model
    queries go (the replica or the primary: `api/dependencies.py` `read_db`); `as_of` reads the
    ledger through the event store."""

    def __init__(
        self, primary: asyncpg.Pool, contacts: ContactRegistry, store: EventStore, mapper: LedgerMapper
    ) -> None:
        self.primary = primary  # a program a lagging replica has not seen yet is not a 404
        self.contacts = contacts
        self.store = store
        self.mapper = mapper

    async def one(
        self,
        db: ReadDatabase,
        optin_id: UUID,
        channel: Channel,
        *,
        contact_id: UUID | None = None,
        address: str | None = None,
        as_of: datetime | None = None,
    ) -> ConsentDecision:
        """The decision for a contact named by id or address; an unknown address is `unknown`."""
        if address is not None:
            contact_id = await self.contacts.find_text(channel, address)
        if contact_id is None:
            if not await self._program_exists(db, optin_id):
                raise NotFoundError(_unknown_program(optin_id))
            return UNKNOWN
        if as_of is not None:
            if not await self._program_exists(db, optin_id):
                raise NotFoundError(_unknown_program(optin_id))
            return await consent_now(self.store, self.mapper, contact_id, optin_id, channel, as_of)
        decision = await consent_state.known_consent_of(db, contact_id, optin_id, channel)
        if decision is None:
            if not await self._program_exists(db, optin_id):
                raise NotFoundError(_unknown_program(optin_id))
            return UNKNOWN  # a replica behind the program's creation: nothing decided there yet
        return decision

    async def many(self, db: ReadDatabase, items: Sequence[Asked]) -> Answers:
        """Every item answered, in order, with one query for all the askable ones."""
        contacts = [i.contact_id for i in items]
        indexes: list[bytes | None] = [None] * len(items)
        addresses = [i.address for i in items]
        mixed = addresses.count(None) != len(addresses) or any(c is None for c in contacts)
        refused = self._refused(items, indexes) if mixed else {}
        programs, channels = [i.optin_id for i in items], [i.channel for i in items]
        found, decisions, program_known = await consent_state.check_many(
            db, contacts, indexes, programs, channels
        )
        for n in refused:
            found[n] = None
        unseen = {p for p, known in zip(programs, program_known, strict=True) if not known}
        if unseen:
            known = await self._programs_known(db, unseen)
            for n, program in enumerate(programs):
                if program_known[n] or n in refused:
                    continue
                if program in known:
                    decisions[n] = UNKNOWN
                else:
                    refused[n] = Refusal(f"items[{n}].optin_id", _unknown_program(program), 404)
        return Answers(found, decisions, refused)

    def _refused(self, items: Sequence[Asked], indexes: list[bytes | None]) -> dict[int, Refusal]:
        """The items that cannot be asked, by position; the blind index of each address in
        `indexes` (in place)."""
        refused: dict[int, Refusal] = {}
        for n, item in enumerate(items):
            text = item.address
            if (item.contact_id is None) == (text is None):
                refused[n] = Refusal(f"items[{n}]", ONE_CONTACT, 422)
            elif text is not None:
                try:
                    address = self.contacts.address(item.channel, text)
                except InvalidValueError as e:
                    refused[n] = Refusal(f"items[{n}].address", str(e), 422)
                    continue
                indexes[n] = self.contacts.sealer.blind_index(address.value)
        return refused

    async def _program_exists(self, db: ReadDatabase, optin_id: UUID) -> bool:
        return bool(await self._programs_known(db, {optin_id}))

    async def _programs_known(self, db: ReadDatabase, ids: set[UUID]) -> set[UUID]:
        """Which of `ids` are programs: on `db`, and on the primary for those a replica lacks."""
        query = "SELECT id FROM optins WHERE id = ANY($1::uuid[])"
        found = {r[0] for r in await db.fetch(query, list(ids))}
        if found != ids and db is not self.primary:
            found |= {r[0] for r in await self.primary.fetch(query, list(ids - found))}
        return found
