"""Console review queue for doubtful SMS replies ("stop by the store later?"): staff read the
reply, then confirm it as a revocation (the number is opted out, as by STOP) or dismiss it,
before its deadline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from api.auth.guards import principal_of
from api.services import Services, request_id
from api.web.console.access import EDITORS
from api.web.rendering import Form, page
from ledger.errors import DomainError
from ledger.masking import scrub
from ledger.revocation_review import RevocationReview
from projections.revocation_reviews import open_reviews
from projections.runner import wait_for_position


class DismissForm(msgspec.Struct, kw_only=True):
    note: str = ""


async def _replies(services: Services, ids: list[UUID]) -> dict[UUID, str]:
    """Each reply as the contact wrote it (addresses in it masked), for staff to judge."""
    registry, found = services.contacts, {}
    for review_id in ids:
        review = await registry.repository.find(RevocationReview, review_id)
        if review is None:
            continue
        opened = registry.sealer.open(await registry.keys.get(review.contact_id), review.sealed_reply)
        if opened is not None:
            found[review_id] = scrub(str(msgspec.json.decode(opened).get("reply", "")))
    return found


async def _page(
    request: Request[Any, Any, Any], services: Services, *, status: int = 200, notice: str | None = None,
    error: str | None = None,
) -> Response[Any]:  # fmt: skip
    reviews = await open_reviews(services.pool)
    return page(
        request,
        "console/revocations.html",
        status=status,
        title="Replies to review",
        reviews=reviews,
        replies=await _replies(services, [r.id for r in reviews]),
        now=datetime.now(UTC),
        notice=notice,
        error=error,
    )


@get("/revocations", guards=[EDITORS])
async def revocations_page(
    request: Request[Any, Any, Any], services: NamedDependency[Services]
) -> Response[Any]:
    return await _page(request, services)


@post("/revocations/{review_id:uuid}/confirm", guards=[EDITORS])
async def confirm(
    request: Request[Any, Any, Any], review_id: UUID, services: NamedDependency[Services]
) -> Response[Any]:
    actor = principal_of(request).actor(request_id(request))
    revocation = services.channels.inbound.revocation
    assert revocation is not None
    try:
        position = await revocation.confirm(review_id, actor)
    except DomainError as e:
        return await _page(request, services, status=409, error=str(e))
    await wait_for_position(services.pool, position, ["revocation_reviews"])
    return await _page(request, services, notice="Confirmed: the number is opted out of SMS.")


@post("/revocations/{review_id:uuid}/dismiss", guards=[EDITORS])
async def dismiss(
    request: Request[Any, Any, Any],
    review_id: UUID,
    data: Annotated[DismissForm, Form],
    services: NamedDependency[Services],
) -> Response[Any]:
    actor = principal_of(request).actor(request_id(request))
    revocation = services.channels.inbound.revocation
    assert revocation is not None
    try:
        position = await revocation.dismiss(review_id, actor, data.note.strip()[:500] or None)
    except DomainError as e:
        return await _page(request, services, status=409, error=str(e))
    await wait_for_position(services.pool, position, ["revocation_reviews"])
    return await _page(request, services, notice="Dismissed: consent is unchanged.")
