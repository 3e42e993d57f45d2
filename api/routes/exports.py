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

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import QueryParameter
from litestar.response import Stream

from adapters.crypto.data_keys import KeyWrapper, fetch_keys
from adapters.crypto.sealer import NaclSealer
from api.auth.guards import allow, principal_of
from api.services import Services, request_id
from ledger.address_export import ExportFormat, record_address_export
from ledger.contact import Contact
from ledger.program import Program
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


async def _addresses(services: Services, rows: list[ExportRow]) -> dict[UUID, str]:
    """Addresses in clear, for an admin's export (opened with each contact's key)."""
    assert services.settings.kek and services.settings.index_key
    ids = [r.contact_id for r in rows]
    keys = await fetch_keys(services.pool, KeyWrapper(services.settings.kek), ids)
    stored = await services.pool.fetch(
        "SELECT originator_id, state FROM events "
        "WHERE originator_id = ANY($1::uuid[]) AND originator_version = 1",
        ids,
    )
    sealer, mapper, found = NaclSealer(services.settings.index_key), services.repository.mapper, {}
    for r in stored:
        created = mapper.decode(Contact.Created.TOPIC, r["originator_id"], 1, r["state"])
        plain = sealer.open(keys.get(r["originator_id"]), created.sealed_address)  # type: ignore[attr-defined]
        if plain is not None:
            found[r["originator_id"]] = plain
    return found


@get(
    "/v1/exports/consent", guards=[allow("auditor")], tags=["exports"], summary="Current consent in a program"
)
async def export_consent(
    request: Request[Any, Any, Any],
    services: NamedDependency[Services],
    caught_up: NamedDependency[int | None],
    optin_id: UUID,
    format: Annotated[ExportFormat, QueryParameter()] = "csv",
    addresses: Annotated[bool, QueryParameter(description="admins only; recorded on the ledger")] = False,
) -> Response[Any]:
    principal = principal_of(request)
    if addresses and principal.role != "admin":
        raise PermissionDeniedException("only an admin may export addresses")
    if await services.repository.find(Program, optin_id) is None:
        raise NotFoundException(f"no program with id {optin_id}")
    position = None
    if addresses:
        position = await services.repository.save(
            record_address_export(optin_id, format, principal.actor(request_id(request)))
        )

    async def body() -> AsyncIterator[bytes]:
        if format == "csv":
            yield (",".join(COLUMNS) + "\r\n").encode()
        async for rows in consent_rows(services.pool, optin_id):
            plain = await _addresses(services, rows) if addresses else {}
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
