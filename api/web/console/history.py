"""A contact's timeline as the console shows it: one line per event, in words, with who did it,
through what, and the evidence (the disclosure version shown, the client masked).

The lines come from the timeline read model (what `GET /v1/contacts/{id}/timeline` serves). Two
things it leaves out on purpose are read from the ledger here, for the page only: the client
(IP and user agent, sealed with the contact's key; opened and shown masked) and the id of the
stream each event belongs to (a message's page is linked by it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.postgres.ledger_reads import events_at
from adapters.postgres.replica import ReadDatabase
from api.auth.directory import UserDirectory
from api.web.console.event_words import source_words, what_happened
from ledger.application.contacts import ContactRegistry
from ledger.codec import LedgerMapper
from ledger.masking import mask_ip, mask_user_agent
from ledger.ports import RecordedEvent
from projections.timeline import TimelineEntry

_MESSAGE_TOPICS = ("message.", "mailbox.")


@dataclass(frozen=True, slots=True)
class Shown:
    """The disclosure text a consent event names: program, version, hash, and the text itself."""

    optin_id: UUID
    version: int
    sha256: str | None
    text: str | None


@dataclass(frozen=True, slots=True)
class Line:
    position: int
    at: datetime
    topic: str
    what: str
    who: str
    source: str | None
    shown: Shown | None
    client: str | None
    message_id: UUID | None
    verification_id: str | None


def _evidence(entry: TimelineEntry) -> Mapping[str, Any]:
    found = entry.details.get("evidence")
    return found if isinstance(found, dict) else {}


def _actor_ids(entries: list[TimelineEntry]) -> set[UUID]:
    ids = set()
    for entry in entries:
        for actor in (entry.actor, _evidence(entry).get("actor"), _evidence(entry).get("relay")):
            if isinstance(actor, dict) and actor.get("kind") == "user" and actor.get("id"):
                try:
                    ids.add(UUID(str(actor["id"])))
                except ValueError:
                    continue
    return ids


def _who(actor: Any, staff: Mapping[UUID, str]) -> str:
    if not isinstance(actor, dict):
        return "the system"
    kind, ident = actor.get("kind"), actor.get("id")
    if kind == "contact":
        return "the contact"
    if kind == "user":
        try:
            return f"staff member {staff.get(UUID(str(ident)), str(ident))}"
        except ValueError:
            return "a staff member"
    if kind == "api_key":
        return "an application (API key)"
    return f"the system ({ident})" if ident else "the system"


def _by(entry: TimelineEntry, staff: Mapping[UUID, str]) -> str:
    evidence = _evidence(entry)
    who = _who(evidence.get("actor") or entry.actor, staff)
    relay = evidence.get("relay")
    return f"{who}; code passed on by {_who(relay, staff)}" if relay else who


class History:
    """Builds the console's lines for one contact."""

    def __init__(self, pool: ReadDatabase, contacts: ContactRegistry, directory: UserDirectory) -> None:
        self.pool = pool
        self.contacts = contacts
        self.directory = directory
        self.mapper = LedgerMapper()

    async def lines(
        self, contact_id: UUID, entries: list[TimelineEntry], names: Mapping[str, str], *, full_emails: bool
    ) -> list[Line]:
        """`names`: program names by id; `full_emails`: staff emails in full (for admins)."""
        staff = await self.directory.emails(_actor_ids(entries), full=full_emails)
        recorded = {r.notification_id: r for r in await events_at(self.pool, [e.position for e in entries])}
        clients = await self._clients(
            contact_id, [recorded[e.position] for e in entries if _sealed(e, recorded)]
        )
        texts = await self._texts(entries)
        found = []
        for entry in entries:
            evidence = _evidence(entry)
            record = recorded.get(entry.position)
            found.append(
                Line(
                    position=entry.position,
                    at=entry.occurred_at,
                    topic=entry.topic,
                    what=what_happened(entry.topic, entry.details, names),
                    who=_by(entry, staff),
                    source=source_words(evidence.get("source"), evidence.get("keyword")),
                    shown=_shown(entry, texts),
                    client=clients.get(entry.position),
                    message_id=record.originator_id
                    if record and entry.topic.startswith("message.")
                    else None,
                    verification_id=evidence.get("verification_id") or entry.details.get("verification_id"),
                )
            )
        return found

    async def _clients(self, contact_id: UUID, records: list[RecordedEvent]) -> dict[int, str]:
        """The masked client of each consent event that sealed one (none once the contact is erased)."""
        if not records:
            return {}
        key = await self.contacts.keys.get(contact_id)
        found = {}
        for record in records:
            event = self.mapper.decode(
                record.topic, record.originator_id, record.originator_version, record.state
            )
            sealed = getattr(getattr(event, "evidence", None), "sealed_client", None)
            plain = self.contacts.sealer.open(key, sealed) if sealed else None
            if plain:
                found[record.notification_id] = masked_client(json.loads(plain))
        return found

    async def _texts(self, entries: list[TimelineEntry]) -> dict[tuple[str, int], str]:
        wanted = {
            (str(e.details["optin_id"]), int(_evidence(e)["disclosure_version"]))
            for e in entries
            if _evidence(e).get("disclosure_version") and e.details.get("optin_id")
        }
        if not wanted:
            return {}
        rows = await self.pool.fetch(
            "SELECT d.optin_id, d.version, d.text FROM optin_disclosures d "
            "JOIN unnest($1::uuid[], $2::int[]) AS w(o, v) ON (d.optin_id, d.version) = (w.o, w.v)",
            [UUID(o) for o, _ in wanted],
            [v for _, v in wanted],
        )
        return {(str(r["optin_id"]), r["version"]): r["text"] for r in rows}


def _sealed(entry: TimelineEntry, recorded: Mapping[int, RecordedEvent]) -> bool:
    """Whether the event may carry a sealed client (consent changes with evidence)."""
    return (
        entry.position in recorded and bool(_evidence(entry)) and not entry.topic.startswith(_MESSAGE_TOPICS)
    )


def _shown(entry: TimelineEntry, texts: Mapping[tuple[str, int], str]) -> Shown | None:
    evidence = _evidence(entry)
    version, optin = evidence.get("disclosure_version"), entry.details.get("optin_id")
    if not version or not optin:
        return None
    return Shown(
        UUID(str(optin)),
        int(version),
        evidence.get("disclosure_sha256"),
        texts.get((str(optin), int(version))),
    )


def masked_client(client: Mapping[str, Any]) -> str:
    """`203.0.*.* · Firefox on Linux`: enough to compare two events, not to find the person."""
    parts = []
    if client.get("ip"):
        parts.append(mask_ip(str(client["ip"])))
    if client.get("user_agent"):
        parts.append(mask_user_agent(str(client["user_agent"])))
    return " · ".join(parts) or "not recorded"
