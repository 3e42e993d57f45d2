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
from litestar.params import FromPath

from adapters.postgres.replica import ReadDatabase
from api.dependencies import components
from api.web.console.access import EDITORS
from api.web.rendering import Form, page
from ledger.application.revocation import InboundRevocation
from ledger.errors import DomainError
from ledger.vocabulary import Actor
from projections.revocation_reviews import open_reviews

_DEPENDENCIES = components("revocation")


class DismissForm(msgspec.Struct, kw_only=True):
    note: str = ""


async def _page(
    request: Request[Any, Any, Any],
    read_db: ReadDatabase,
    revocation: InboundRevocation,
    *,
    status: int = 200,
    notice: str | None = None,
    error: str | None = None,
) -> Response[Any]:
    reviews = await open_reviews(read_db)
    return page(
        request,
        "console/revocations.html",
        status=status,
        title="Replies to review",
        reviews=reviews,
        replies=await revocation.replies([r.id for r in reviews]),
        now=datetime.now(UTC),
        notice=notice,
        error=error,
    )


@get("/revocations", guards=[EDITORS], dependencies=_DEPENDENCIES)
async def revocations_page(
    request: Request[Any, Any, Any],
    read_db: NamedDependency[ReadDatabase],
    revocation: NamedDependency[InboundRevocation],
) -> Response[Any]:
    return await _page(request, read_db, revocation)


@post("/revocations/{review_id:uuid}/confirm", guards=[EDITORS], dependencies=_DEPENDENCIES)
async def confirm(
    request: Request[Any, Any, Any],
    review_id: FromPath[UUID],
    read_db: NamedDependency[ReadDatabase],
    revocation: NamedDependency[InboundRevocation],
    actor: NamedDependency[Actor],
) -> Response[Any]:
    try:
        await revocation.confirm(review_id, actor)
    except DomainError as e:
        return await _page(request, read_db, revocation, status=409, error=str(e))
    return await _page(request, read_db, revocation, notice="Confirmed: the number is opted out of SMS.")


@post("/revocations/{review_id:uuid}/dismiss", guards=[EDITORS], dependencies=_DEPENDENCIES)
async def dismiss(
    request: Request[Any, Any, Any],
    review_id: FromPath[UUID],
    data: Annotated[DismissForm, Form],
    read_db: NamedDependency[ReadDatabase],
    revocation: NamedDependency[InboundRevocation],
    actor: NamedDependency[Actor],
) -> Response[Any]:
    try:
        await revocation.dismiss(review_id, actor, data.note.strip()[:500] or None)
    except DomainError as e:
        return await _page(request, read_db, revocation, status=409, error=str(e))
    return await _page(request, read_db, revocation, notice="Dismissed: consent is unchanged.")
