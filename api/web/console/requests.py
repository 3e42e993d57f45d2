"""Console consent requests: ask a contact (a code goes out; nothing changes until they confirm),
or record an opt-out the contact asked for elsewhere, with its reason. Same steps as the API."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.params import QueryParameter

from api.routes.consent import ConsentRequest, submit_request
from api.services import Services
from api.web.console.access import EDITORS
from api.web.rendering import Form, page
from ledger.errors import DomainError
from projections import consent_state
from projections.programs import list_programs


class RequestForm(msgspec.Struct, kw_only=True):
    optin_id: str = ""
    action: str = "opt_in"
    contact_id: str = ""
    channel: str = "email"
    address: str = ""
    elsewhere: str = ""
    reason: str = ""


async def _page(
    request: Request[Any, Any, Any],
    services: Services,
    contact_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response[Any]:
    return page(
        request,
        "console/requests.html",
        status=status,
        title="Consent requests",
        programs=await list_programs(services.pool, include_archived=False),
        pending=await consent_state.pending_requests(services.pool, 100),
        contact_id=contact_id,
        error=error,
        notice=notice,
    )


@get("/consent-requests", guards=[EDITORS])
async def requests_page(
    request: Request[Any, Any, Any],
    services: NamedDependency[Services],
    contact_id: Annotated[UUID | None, QueryParameter()] = None,
) -> Response[Any]:
    return await _page(request, services, str(contact_id) if contact_id else "")


@post("/consent-requests", guards=[EDITORS])
async def submit(
    request: Request[Any, Any, Any], data: Annotated[RequestForm, Form], services: NamedDependency[Services]
) -> Response[Any]:
    try:
        asked = _as_request(data)
        answer = await submit_request(services, request, asked)
    except (DomainError, ValidationException, PermissionDeniedException, msgspec.ValidationError) as e:
        detail = getattr(e, "detail", None) or str(e)
        return await _page(request, services, data.contact_id, status=422, error=detail)
    done = (
        "Recorded the opt-out." if asked.source == "admin" else "Asked: a code is on its way to the contact."
    )
    return await _page(request, services, "", status=answer.status_code or 200, notice=done)


def _as_request(data: RequestForm) -> ConsentRequest:
    """The form as the API's request body (validated by the same schema)."""
    body: dict[str, Any] = {"optin_id": data.optin_id, "action": data.action}
    if data.contact_id:
        body["contact_id"] = data.contact_id
    else:
        body.update(channel=data.channel, address=data.address)
    if data.elsewhere:
        body.update(source="admin", reason=data.reason or None, action="opt_out")
    return msgspec.convert(body, ConsentRequest)
