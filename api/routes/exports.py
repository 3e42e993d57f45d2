"""`GET /v1/exports/consent`: the current consent of every contact in a program, CSV or NDJSON.

Addresses are masked, unless an admin asks for them (`addresses=true`): that is recorded on the
ledger (`export.addresses_revealed`) before the first row leaves. Streamed in chunks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream

from api.auth.guards import allow, principal_of
from api.dependencies import components
from ledger.address_export import ExportFormat
from ledger.application.exports import ConsentExports
from ledger.vocabulary import Actor
from projections.consent_export import ExportRow, consent_rows

COLUMNS = ("contact_id", "address", "channel", "status", "since", "source", "event_position", "event_topic")


def _record(row: ExportRow, address: str) -> dict[str, Any]:
    d = row.decision
    return {
        "contact_id": str(row.contact_id),
        "address": address,
        "channel": row.channel,
        "status": d.status,
        "since": d.since.isoformat() if d.since else None,
        "source": row.source,
        "event_position": d.position,
        "event_topic": d.topic,
    }


@get(
    "/v1/exports/consent",
    guards=[allow("auditor")],
    tags=["exports"],
    summary="Current consent in a program",
    dependencies=components("exports", "pool"),
    media_type="text/csv",
    opt={
        "answer_types": ["application/x-ndjson", "text/csv"],
        "problems": {403: "Only an admin may export addresses (`addresses=true`)."},
    },
)
async def export_consent(
    request: Request[Any, Any, Any],
    exports: NamedDependency[ConsentExports],
    pool: NamedDependency[asyncpg.Pool],
    actor: NamedDependency[Actor],
    caught_up: NamedDependency[int | None],
    optin_id: FromQuery[UUID],
    format: Annotated[ExportFormat, QueryParameter()] = "csv",
    addresses: Annotated[bool, QueryParameter(description="admins only; recorded on the ledger")] = False,
) -> Response[Any]:
    if addresses and principal_of(request).role != "admin":
        raise PermissionDeniedException("only an admin may export addresses")
    position = await exports.start(optin_id, format, actor, reveal=addresses)

    async def body() -> AsyncIterator[bytes]:
        if format == "csv":
            yield (",".join(COLUMNS) + "\r\n").encode()
        async for rows in consent_rows(pool, optin_id):
            plain = await exports.addresses([r.contact_id for r in rows]) if addresses else {}
            records = [_record(r, plain.get(r.contact_id, r.masked_address)) for r in rows]
            if format == "ndjson":
                yield b"".join(msgspec.json.encode(r) + b"\n" for r in records)
            else:
                out = io.StringIO()
                writer = csv.DictWriter(out, COLUMNS)
                writer.writerows(records)
                yield out.getvalue().encode()

    media = "text/csv" if format == "csv" else "application/x-ndjson"
    headers = {"Content-Disposition": f'attachment; filename="consent-{optin_id}.{format}"'}
    if position is not None:
        headers["Ledger-Position"] = str(position)
    return Stream(body(), media_type=media, headers=headers)
