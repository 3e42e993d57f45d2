"""How the events that decided consent came about: each one's evidence source, read from the ledger.

A consent decision names its deciding event (`ConsentDecision.position`); its evidence says
where it came from (`web`, `sms_keyword`, `admin`, …). An import is shown as `imported`: the
sender's own statement, never proof this service verified.
"""

from __future__ import annotations

from collections.abc import Collection

from adapters.postgres.ledger_reads import Db, events_at
from ledger.codec import LedgerMapper

IMPORTED = "imported"

_MAPPER = LedgerMapper()


async def evidence_sources(db: Db, positions: Collection[int]) -> dict[int, str]:
    """The evidence source of the event at each position (`imported` for an import); positions
    whose event carries no evidence (an erasure, an archival) are left out."""
    if not positions:
        return {}
    found: dict[int, str] = {}
    for recorded in await events_at(db, positions):
        event = _MAPPER.to_domain_event(recorded.stored())
        source = getattr(getattr(event, "evidence", None), "source", None)
        if source is not None:
            found[recorded.notification_id] = IMPORTED if source == "import" else str(source)
    return found
