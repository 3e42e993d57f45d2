"""Console messages (staff, auditors): newest first with masked previews, and one message's
delivery timeline and the consent event it relied on."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter

from api.answers import one_page
from api.dependencies import components
from api.web.console.access import VIEWERS
from api.web.console.contacts import evidence
from api.web.rendering import page
from projections import contacts as contacts_read
from projections import messages as read
from projections.programs import list_programs

PAGE_SIZE = 50
STATUSES = (
    *("queued", "sent", "delivered", "blocked", "diverted"),
    *("retrying", "dead_lettered", "undelivered", "cancelled"),
)


@get("/messages", guards=[VIEWERS], dependencies=components("pool"))
async def messages_page(
    request: Request[Any, Any, Any],
    pool: NamedDependency[asyncpg.Pool],
    status: Annotated[str | None, QueryParameter(max_length=32)] = None,
    before: Annotated[int | None, QueryParameter(ge=1)] = None,
) -> Response[Any]:
    wanted = status if status in STATUSES else None
    rows = await read.list_messages(
        pool,
        contact_id=None,
        optin_id=None,
        status=wanted,
        channel=None,
        before=before,
        limit=PAGE_SIZE + 1,
    )
    rows, more = one_page(rows, PAGE_SIZE)
    names = {p.id: p.name for p in await list_programs(pool, include_archived=True)}
    return page(
        request,
        "console/messages.html",
        title="Messages",
        messages=rows,
        programs=names,
        statuses=STATUSES,
        chosen=wanted or "",
        next_before=rows[-1].seq if more else None,
    )


@get("/messages/{message_id:uuid}", guards=[VIEWERS], dependencies=components("pool"))
async def message_page(
    request: Request[Any, Any, Any], message_id: FromPath[UUID], pool: NamedDependency[asyncpg.Pool]
) -> Response[Any]:
    message = await read.get_message(pool, message_id)
    if message is None:
        raise NotFoundException("no such message")
    contact = await contacts_read.get_contact(pool, message.contact_id)
    names = {p.id: p.name for p in await list_programs(pool, include_archived=True)}
    events = await read.message_events(pool, message_id)
    return page(
        request,
        "console/message.html",
        title="Message",
        message=message,
        contact=contact,
        program=names.get(message.optin_id, "—") if message.optin_id else "—",
        events=[(e, evidence(e.details)) for e in events],
    )
