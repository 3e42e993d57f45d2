"""Console consent requests: ask a contact (a code goes out; nothing changes until they confirm),
or record an opt-out the contact asked for elsewhere, with an optional reason. The same use case
as `POST /v1/consent-requests`."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from adapters.postgres.replica import ReadDatabase
from api.dependencies import components
from api.routes.consent_requests import ConsentRequest
from api.web.console.access import EDITORS
from api.web.rendering import Form, page
from ledger.application.consent_requests import ConsentRequests
from ledger.application.evidence import Client
from ledger.errors import DomainError
from ledger.vocabulary import Actor
from projections import consent_state
from projections.programs import list_programs


class RequestForm(msgspec.Struct, kw_only=True):
    optin_id: str = ""
    action: str = "opt_in"
    contact_id: str = ""
    channel: str = "email"
    address: str = ""
    reason: str = ""


async def _page(
    request: Request[Any, Any, Any],
    pool: ReadDatabase,
    contact_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    form: RequestForm | None = None,
) -> Response[Any]:
    """`form`: a refused request, shown again as it was filled in (the error names the field)."""
    return page(
        request,
        "console/requests.html",
        status=status,
        title="Consent requests",
        programs=await list_programs(pool, include_archived=False),
        pending=await consent_state.pending_requests(pool, 100),
        contact_id=contact_id,
        error=error,
        notice=notice,
        form=form or RequestForm(),
    )


@get("/consent-requests", guards=[EDITORS])
async def requests_page(
    request: Request[Any, Any, Any],
    read_db: NamedDependency[ReadDatabase],
    contact_id: Annotated[UUID | None, QueryParameter()] = None,
) -> Response[Any]:
    return await _page(request, read_db, str(contact_id) if contact_id else "")


@post("/consent-requests", guards=[EDITORS], dependencies=components("pool", "consent_requests"))
async def submit(
    request: Request[Any, Any, Any],
    data: Annotated[RequestForm, Form],
    pool: NamedDependency[asyncpg.Pool],
    consent_requests: NamedDependency[ConsentRequests],
    actor: NamedDependency[Actor],
    client: NamedDependency[Client],
) -> Response[Any]:
    try:
        asked = _as_request(data)
        result = await consent_requests.submit(asked.command(), actor, client)
    except (DomainError, msgspec.ValidationError) as e:
        return await _page(request, pool, data.contact_id, status=422, error=str(e), form=data)
    if result.verification_id is None:
        return await _page(request, pool, "", notice="Recorded the opt-out.")
    return await _page(request, pool, "", status=202, notice="Asked: a code is on its way to the contact.")


def _as_request(data: RequestForm) -> ConsentRequest:
    """The form as the API's request body (validated by the same schema)."""
    body: dict[str, Any] = {"optin_id": data.optin_id, "action": data.action}
    if data.contact_id:
        body["contact_id"] = data.contact_id
    else:
        body.update(channel=data.channel, address=data.address)
    if data.action == "opt_out" and data.reason.strip():
        body["reason"] = data.reason.strip()
    return msgspec.convert(body, ConsentRequest)
