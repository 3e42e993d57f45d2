"""Reads of the webhook tables: endpoints and their delivery log (with every attempt)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from adapters.postgres.replica import ReadDatabase


class EndpointRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    owner: str | None
    url: str
    events: list[str]
    created_at: datetime


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    event_type: str
    position: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    log: list[Attempt]


async def endpoints(pool: ReadDatabase, owner: str | None) -> list[EndpointRow]:
    """Active endpoints of `owner` (None: every endpoint)."""
    rows = await pool.fetch(
        "SELECT id, owner, url, event_types, created_at FROM webhook_endpoints "
        "WHERE active AND ($1::text IS NULL OR owner = $1) ORDER BY created_at",
        owner,
    )
    return [
        EndpointRow(
            id=r["id"], owner=r["owner"], url=r["url"], events=r["event_types"], created_at=r["created_at"]
        )
        for r in rows
    ]


async def deliveries(pool: ReadDatabase, endpoint_id: UUID, limit: int) -> list[DeliveryRow]:
    rows = await pool.fetch(
        "SELECT id, event_type, position, status, attempts, due_at, delivered_at FROM webhook_deliveries "
        "WHERE endpoint_id = $1 ORDER BY position DESC LIMIT $2",
        endpoint_id,
        limit,
    )
    attempts = await pool.fetch(
        "SELECT delivery_id, attempt, at, status_code, error, duration_ms FROM webhook_attempts "
        "WHERE delivery_id = ANY($1) ORDER BY attempt",
        [r["id"] for r in rows],
    )
    log: dict[UUID, list[Attempt]] = {}
    for a in attempts:
        log.setdefault(a["delivery_id"], []).append(
            Attempt(
                attempt=a["attempt"],
                at=a["at"],
                status_code=a["status_code"],
                error=a["error"],
                duration_ms=a["duration_ms"],
            )
        )
    return [
        DeliveryRow(
            id=r["id"],
            event_type=r["event_type"],
            position=r["position"],
            status=r["status"],
            attempts=r["attempts"],
            next_attempt_at=r["due_at"] if r["status"] == "pending" else None,
            delivered_at=r["delivered_at"],
            log=log.get(r["id"], []),
        )
        for r in rows
    ]
