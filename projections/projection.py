"""What a projection is: a named read model fed with decoded events, in ledger order, in batches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from adapters.postgres.pool import Connection


class Envelope(NamedTuple):
    """One event as projections see it: decoded, with its ledger position and time (a named
    tuple: a rebuild makes one per event)."""

    position: int
    recorded_at: datetime
    topic: str
    event: Any


class Projection(Protocol):
    """A read model. `apply` runs inside the runner's transaction, with the tracking update."""

    name: str
    tables: tuple[str, ...]
    topics: frozenset[str]

    async def apply(self, conn: Connection, batch: Sequence[Envelope]) -> None: ...
