"""Read model: the facts the consent decision needs, per (contact, program, channel), decided on read.

Four tables, one projection (so they are always at the same ledger position): the consent
stream's own state (`consent_state`), the channel-wide opt-outs in force (`channel_optouts`),
program archivals and contact erasures. Every read joins the rows for what it asks about and
hands them to `ledger.decision.decide`: the read model keeps the folded facts, the rule stays in
one place. A check is one primary-key row of each table, in one query; a bulk check one join.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

import asyncpg

from adapters.postgres.pool import Connection
from ledger.channel_optout import ChannelOptOut
from ledger.contact import Contact
from ledger.decision import BEARING_TOPICS, ConsentDecision, ConsentFacts, Mark, decide_flat, fold
from ledger.program import Program
from ledger.vocabulary import Channel
from projections.projection import Envelope

Key = tuple[UUID, UUID, str]


class ConsentStateProjection:
    name = "consent_state"
    tables: tuple[str, ...] = ("consent_state", "channel_optouts", "program_archivals", "contact_erasures")
    topics: frozenset[str] = BEARING_TOPICS

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None:
        await _write(conn, fold_batch(await _stored(conn, touched(batch)), batch))


class FactChanges(NamedTuple):
    """What one batch changes in the read model's four tables."""

    rows: dict[Key, tuple[ConsentFacts, int]]
    """consent rows to upsert: the folded facts and the position they are folded up to"""
    outs: dict[tuple[UUID, str], Mark | None]
    """channel opt-outs now in force (None: lifted)"""
    archived: list[tuple[UUID, int, datetime]]
    erased: dict[UUID, Mark]


def touched(batch: Sequence[Envelope]) -> set[Key]:
    """The consent rows the batch's consent events touch."""
    return {
        (e.event.contact_id, e.event.optin_id, e.event.channel) for e in batch if hasattr(e.event, "optin_id")
    }


def fold_batch(stored: dict[Key, tuple[ConsentFacts, int]], batch: Sequence[Envelope]) -> FactChanges:
    """Fold a batch onto the stored consent rows it touches (pure: the projection's whole logic)."""
    rows = dict(stored)
    outs: dict[tuple[UUID, str], Mark | None] = {}
    archived: list[tuple[UUID, int, datetime]] = []
    erased: dict[UUID, Mark] = {}
    for position, at, _, event in batch:
        match event:
            case ChannelOptOut.OptedOut() | ChannelOptOut.Resubscribed():
                out = Mark(position, at) if isinstance(event, ChannelOptOut.OptedOut) else None
                outs[(event.contact_id, event.channel)] = out
            case Program.Archived():
                archived.append((event.originator_id, position, at))
            case Contact.Erased():
                gone = event.originator_id
                erased[gone] = Mark(position, at)
                rows = {k: v for k, v in rows.items() if k[0] != gone}
                outs = {k: v for k, v in outs.items() if k[0] != gone}
            case _:
                key = (event.contact_id, event.optin_id, event.channel)
                rows[key] = (fold(rows.get(key, _NONE)[0], position, at, event), position)
    return FactChanges(rows, outs, archived, erased)


_NONE = (ConsentFacts(), 0)


async def _stored(conn: Connection, keys: set[Key]) -> dict[Key, tuple[ConsentFacts, int]]:
    if not keys:
        return {}
    found = await conn.fetch(
        "SELECT s.contact_id, s.optin_id, s.channel, s.status, s.since, s.event_position, s.event_topic, "
        "s.pending_verification, s.position FROM consent_state s "
        "JOIN unnest($1::uuid[], $2::uuid[], $3::text[]) AS k(c, o, ch) "
        "ON (s.contact_id, s.optin_id, s.channel) = (k.c, k.o, k.ch)",
        *map(list, zip(*keys, strict=True)),
    )
    return {(r[0], r[1], r[2]): (ConsentFacts(r[3], r[4], r[5], r[6], r[7]), r[8]) for r in found}


async def _write(conn: Connection, changes: FactChanges) -> None:
    rows, outs, archived, erased = changes
    if erased:
        gone = list(erased)
        await conn.execute("DELETE FROM consent_state WHERE contact_id = ANY($1)", gone)
        await conn.execute("DELETE FROM channel_optouts WHERE contact_id = ANY($1)", gone)
        await conn.executemany(
            "INSERT INTO contact_erasures VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [(c, m.position, m.at) for c, m in erased.items()],
        )
    if rows:
        await conn.executemany(
            "INSERT INTO consent_state VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            "ON CONFLICT (contact_id, optin_id, channel) DO UPDATE SET status = EXCLUDED.status, "
            "since = EXCLUDED.since, event_position = EXCLUDED.event_position, "
            "event_topic = EXCLUDED.event_topic, pending_verification = "
            "EXCLUDED.pending_verification, position = EXCLUDED.position",
            [(*k, f.status, f.since, f.position, f.topic, f.pending, p) for k, (f, p) in rows.items()],
        )
    for (contact_id, channel), out in outs.items():
        if out is None:
            await conn.execute(
                "DELETE FROM channel_optouts WHERE contact_id = $1 AND channel = $2", contact_id, channel
            )
        else:
            await conn.execute(
                "INSERT INTO channel_optouts VALUES ($1, $2, $3, $4) ON CONFLICT (contact_id, channel) "
                "DO UPDATE SET since = EXCLUDED.since, event_position = EXCLUDED.event_position",
                contact_id,
                channel,
                out.at,
                out.position,
            )
    if archived:
        await conn.executemany(
            "INSERT INTO program_archivals VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", archived
        )


# The facts of one (contact, program, channel), in the order `_decided` reads them.
_FACTS = (
    "s.status, s.since, s.event_position, s.event_topic, o.event_position, o.since, "
    "a.position, a.at, e.position, e.at"
)


def _joins(contact: str, program: str, channel: str, *, by_contact: bool = False) -> str:
    """The joins of the facts; `by_contact`: consent_state found by contact and channel only, the
    program compared after (see `_MANY`)."""
    same_program = f"s.optin_id IS NOT DISTINCT FROM {program}" if by_contact else f"s.optin_id = {program}"
    return (
        f"LEFT JOIN consent_state s ON s.contact_id = {contact} AND {same_program} "
        f"AND s.channel = {channel} "
        f"LEFT JOIN channel_optouts o ON o.contact_id = {contact} AND o.channel = {channel} "
        f"LEFT JOIN program_archivals a ON a.optin_id = {program} "
        f"LEFT JOIN contact_erasures e ON e.contact_id = {contact}"
    )


def _decided(r: Any, at: int = 0) -> ConsentDecision:
    """`decide` on the facts in row `r` from column `at` on (see `_FACTS`)."""
    return decide_flat(*r[at : at + 10])


_ONE = (
    f"SELECT {_FACTS} FROM (SELECT $1::uuid AS c, $2::uuid AS p, $3::text AS ch) q "  # noqa: S608
    + _joins("q.c", "q.p", "q.ch")
)


async def consent_of(
    conn: asyncpg.Pool | Connection, contact_id: UUID, optin_id: UUID, channel: str
) -> ConsentDecision:
    """The decision now for one (contact, program, channel)."""
    row = await conn.fetchrow(_ONE, contact_id, optin_id, channel)
    assert row is not None
    return _decided(row)


_KNOWN_PROGRAM = "EXISTS (SELECT 1 FROM optins k WHERE k.id = {program})"
_ONE_KNOWN = (
    f"SELECT {_FACTS}, {_KNOWN_PROGRAM.format(program='q.p')} "  # noqa: S608
    "FROM (SELECT $1::uuid AS c, $2::uuid AS p, $3::text AS ch) q " + _joins("q.c", "q.p", "q.ch")
)


async def known_consent_of(
    conn: asyncpg.Pool | Connection, contact_id: UUID, optin_id: UUID, channel: str
) -> ConsentDecision | None:
    """`consent_of`, or None when there is no program `optin_id` (same single query)."""
    row = await conn.fetchrow(_ONE_KNOWN, contact_id, optin_id, channel)
    assert row is not None
    return _decided(row) if row[10] else None


class Checks(NamedTuple):
    """A bulk check's answers as columns, in the request's order (a thousand rows: one object
    per row fewer, each a tenth of a millisecond)."""

    contact_ids: list[UUID | None]
    """the contact asked about: as given, or found by its blind index (None: not found)"""
    decisions: list[ConsentDecision]
    program_known: list[bool]


# A bulk check compares the program with IS NOT DISTINCT FROM, which no index serves, so its
# consent_state rows are found by contact and channel (a hash join, or the primary key's prefix).
# With `=`, the plan PostgreSQL caches for this prepared statement after five runs (estimating ten
# rows for any unnest of a parameter) probed `consent_state_program` once per item, reading every
# row of the program each time: 45 ms instead of 5 for 1,000 items of a 2,000-contact program,
# from the sixth bulk check of a connection on.
#
# Only the contact ids always travel as an array: asyncpg encodes an array element by element,
# with a Python-level check of each (four arrays of 1,000 took 1.4 ms to send). A program or
# channel that every item shares goes once, as a scalar: a multi-array unnest pads a shorter
# (here empty) array with nulls. Items all named by contact id (the common case) take `_BY_ID`,
# which neither joins `contact_lookup` (a scan of it per check, for nothing) nor sends back the
# ids they came with; items with addresses take `_MANY`, blind indexes and all.
# Both answer the same columns: the ordinal, the facts, whether the program is known (then
# `_MANY` the contact id).
_BY_ID = (
    f"SELECT q.n, {_FACTS}, {_KNOWN_PROGRAM.format(program='q.p')} "  # noqa: S608
    "FROM (SELECT u.n, u.c, coalesce(u.p, $4::uuid) AS p, coalesce(u.ch, $5::text) AS ch "
    "FROM unnest($1::uuid[], $2::uuid[], $3::text[]) WITH ORDINALITY AS u(c, p, ch, n)) q "
    + _joins("q.c", "q.p", "q.ch", by_contact=True)
)
_MANY = (
    f"SELECT q.n, {_FACTS}, {_KNOWN_PROGRAM.format(program='q.p')}, coalesce(q.c, l.contact_id) "  # noqa: S608
    "FROM (SELECT u.n, u.c, u.blind_index, coalesce(u.p, $5::uuid) AS p, coalesce(u.ch, $6::text) AS ch "
    "FROM unnest($1::uuid[], $2::bytea[], $3::uuid[], $4::text[]) WITH ORDINALITY "
    "AS u(c, blind_index, p, ch, n)) q "
    "LEFT JOIN contact_lookup l ON q.c IS NULL AND l.blind_index = q.blind_index "
    + _joins("coalesce(q.c, l.contact_id)", "q.p", "q.ch", by_contact=True)
)


_V = TypeVar("_V")


async def check_many(
    conn: asyncpg.Pool | Connection,
    contact_ids: Sequence[UUID | None],
    indexes: Sequence[bytes | None],
    optin_ids: Sequence[UUID],
    channels: Sequence[str],
) -> Checks:
    """Decisions for many (contact or blind index, program, channel) rows, in order, one query."""
    program, programs = _shared(optin_ids)
    channel, channel_list = _shared(channels)
    contacts = list(contact_ids)
    by_id = indexes.count(None) == len(indexes)
    if by_id:
        rows = await conn.fetch(_BY_ID, contacts, programs, channel_list, program, channel)
    else:
        rows = await conn.fetch(_MANY, contacts, list(indexes), programs, channel_list, program, channel)
    # In order of the request: each row put at its ordinal (cheaper than sorting, or an ORDER BY
    # on the wide joined rows).
    ordered: list[Any] = [None] * len(rows)
    for r in rows:
        ordered[r[0] - 1] = r
    return Checks(
        contacts if by_id else [r[12] for r in ordered],
        [decide_flat(*r[1:11]) for r in ordered],  # `_decided`, without a call more per row
        [r[11] for r in ordered],
    )


def _shared(values: Sequence[_V]) -> tuple[_V | None, list[_V]]:
    """(the value every item has, []) or (None, every item's value)."""
    first = values[0] if values else None
    if values.count(first) == len(values):
        return first, []
    return None, list(values)


class ProgramConsent(NamedTuple):
    optin_id: UUID
    decision: ConsentDecision


async def decisions_of(
    conn: asyncpg.Pool | Connection, contact_id: UUID, channel: Channel
) -> list[ProgramConsent]:
    """The decision for every program (archived ones too) on the contact's channel."""
    rows = await conn.fetch(
        f"SELECT p.id, {_FACTS} FROM optins p "  # noqa: S608
        + _joins("$1::uuid", "p.id", "$2::text")
        + " WHERE $2 = ANY(p.channels) ORDER BY lower(p.name), p.id",
        contact_id,
        channel,
    )
    return [ProgramConsent(r[0], _decided(r, 1)) for r in rows]


class ContactConsent(NamedTuple):
    contact_id: UUID
    channel: str
    decision: ConsentDecision


async def program_decisions(
    conn: Connection, optin_id: UUID, chunk: int = 1000
) -> AsyncIterator[list[ContactConsent]]:
    """The decision for every contact with consent facts in the program, in chunks through a
    cursor (memory stays constant however large the program). Call inside a transaction."""
    query = (
        f"SELECT s.contact_id, s.channel, {_FACTS} FROM consent_state s "  # noqa: S608
        "LEFT JOIN channel_optouts o ON o.contact_id = s.contact_id AND o.channel = s.channel "
        "LEFT JOIN program_archivals a ON a.optin_id = s.optin_id "
        "LEFT JOIN contact_erasures e ON e.contact_id = s.contact_id "
        "WHERE s.optin_id = $1 ORDER BY s.contact_id, s.channel"
    )
    cursor = await conn.cursor(query, optin_id)
    while rows := await cursor.fetch(chunk):
        yield [ContactConsent(r[0], r[1], _decided(r, 2)) for r in rows]


async def pending_requests(conn: asyncpg.Pool | Connection, limit: int) -> list[asyncpg.Record]:
    """Requests still waiting for the contact's code, newest first, with the masked address."""
    return await conn.fetch(
        "SELECT s.contact_id, s.optin_id, s.channel, s.since, c.masked_address, o.name "
        "FROM consent_state s LEFT JOIN contacts c ON c.id = s.contact_id "
        "LEFT JOIN optins o ON o.id = s.optin_id WHERE s.status = 'pending' ORDER BY s.since DESC LIMIT $1",
        limit,
    )
