"""Console messages (staff, auditors): newest first with masked previews, and one message's
delivery timeline and the consent event it relied on."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter

from adapters.postgres.replica import ReadDatabase
from api.answers import one_page
from api.web.console.access import VIEWERS
from api.web.rendering import page
from projections import contacts as contacts_read
from projections import messages as read
from projections.programs import list_programs

PAGE_SIZE = 50
STATUSES = (
    *("queued", "sent", "delivered", "blocked", "diverted"),
    *("retrying", "dead_lettered", "undelivered", "cancelled"),
)


def evidence(details: dict[str, Any]) -> list[tuple[str, str]]:
    """An event's details as label/value pairs, evidence flattened in; ciphertext left out."""
    flat: list[tuple[str, str]] = []
    for key, value in details.items():
        if key.startswith("sealed") or value is None:
            continue
        if isinstance(value, dict):
            flat.extend(
                (f"{key}.{k}", str(v))
                for k, v in value.items()
                if v is not None and not k.startswith("sealed")
            )
        else:
            flat.append((key, str(value)))
    return flat


@get("/messages", guards=[VIEWERS])
async def messages_page(
    request: Request[Any, Any, Any],
    read_db: NamedDependency[ReadDatabase],
    status: Annotated[str | None, QueryParameter(max_length=32)] = None,
    before: Annotated[int | None, QueryParameter(ge=1)] = None,
) -> Response[Any]:
    wanted = status if status in STATUSES else None
    rows = await read.list_messages(
        read_db,
        contact_id=None,
        optin_id=None,
        status=wanted,
        channel=None,
        before=before,
        limit=PAGE_SIZE + 1,
    )
    rows, more = one_page(rows, PAGE_SIZE)
    names = {p.id: p.name for p in await list_programs(read_db, include_archived=True)}
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


@get("/messages/{message_id:uuid}", guards=[VIEWERS])
async def message_page(
    request: Request[Any, Any, Any], message_id: FromPath[UUID], read_db: NamedDependency[ReadDatabase]
) -> Response[Any]:
    message = await read.get_message(read_db, message_id)
    if message is None:
        raise NotFoundException("no such message")
    contact = await contacts_read.get_contact(read_db, message.contact_id)
    names = {p.id: p.name for p in await list_programs(read_db, include_archived=True)}
    events = await read.message_events(read_db, message_id)
    return page(
        request,
        "console/message.html",
        title="Message",
        message=message,
        contact=contact,
        program=names.get(message.optin_id, "—") if message.optin_id else "—",
        events=[(e, evidence(e.details)) for e in events],
    )
