"""`GET /v1/admin/compliance`: opt-outs honoured, replies waiting for review, and any message sent
after an opt-out (which must be zero: `alert` is true as soon as one is)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import msgspec
from litestar import get
from litestar.di import NamedDependency

from adapters.postgres.replica import ReadDatabase
from api.auth.guards import allow
from projections.optout_deadlines import figures, latest_violations


class Violation(msgspec.Struct, frozen=True, kw_only=True):
    message_id: UUID
    contact_id: UUID
    optin_id: UUID | None
    channel: str
    reason: str
    optout_position: int | None
    due_at: datetime
    sent_at: datetime


class Compliance(msgspec.Struct, frozen=True, kw_only=True):
    optouts: int
    optouts_honoured: int
    reviews_open: int
    reviews_overdue: int
    sent_after_optout: int
    alert: bool
    violations: list[Violation]


@get(
    "/v1/admin/compliance",
    guards=[allow("staff", "auditor")],
    tags=["admin"],
    summary="Opt-out compliance",
)
async def get_compliance(read_db: NamedDependency[ReadDatabase]) -> Compliance:
    found = await figures(read_db, datetime.now(UTC))
    rows = await latest_violations(read_db, 50)
    return Compliance(
        **found, alert=found["sent_after_optout"] > 0, violations=[Violation(**dict(r)) for r in rows]
    )
