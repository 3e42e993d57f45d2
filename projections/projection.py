"""What a projection is: a named read model fed with decoded events, in ledger order, in batches."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

from adapters.postgres.pool import Connection


def lock_key(name: str) -> str:
    """The SQL of a projection's advisory lock key, `name` being the SQL for its name (a
    parameter or a column): whatever writes a projection's tables or moves its position takes
    this one lock, so every place must spell the key the same way."""
    return f"hashtext('projection:' || {name})"


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


Write = Callable[[Connection], Coroutine[Any, Any, None]]
"""Rows already taken out of a rebuild's fold, written on the rebuild's connection: it runs while
the next batch folds, so it must not read the fold's state."""


class Rebuilder(Protocol):
    """A rebuild's read model, folded in memory: batches go in, writes come out."""

    def fold(self, batch: Sequence[Envelope]) -> Write | None: ...

    def finish(self) -> Write | None: ...


@runtime_checkable
class Rebuildable(Protocol):
    """A projection that can rebuild in memory: `rebuilder(tables)` folds from position 0 and
    writes into `tables` (each of the projection's table names mapped to the one to fill, which
    may be a fresh table to swap in afterwards)."""

    def rebuilder(self, tables: Mapping[str, str]) -> Rebuilder: ...
