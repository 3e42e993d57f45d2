"""Console contacts: the masked list, search by exact address (blind index), and one contact's
consent and full history with its evidence (`api/web/console/history.py`).

Search is a POST so that an address never lands in a URL, the browser history or a log line.
"""

from __future__ import annotations

from typing import Annotated, Any, cast
from uuid import UUID

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter

from adapters.postgres.replica import ReadDatabase
from api.answers import one_page
from api.auth.directory import UserDirectory
from api.dependencies import components
from api.web.console.access import ADMINS, AUDITORS, EDITORS, VIEWERS, may
from api.web.console.history import History
from api.web.rendering import Form, is_htmx, page, viewer
from ledger.application.contacts import ContactRegistry
from ledger.errors import InvalidValueError
from ledger.vocabulary import Channel
from projections import consent_state
from projections import contacts as read
from projections.evidence_sources import evidence_sources
from projections.programs import list_programs
from projections.timeline import timeline

PAGE_SIZE = 50
TIMELINE_LIMIT = 1000


class SearchForm(msgspec.Struct, kw_only=True):
    channel: str = "email"
    address: str = ""


@get("/contacts", guards=[VIEWERS])
async def contacts_page(
    request: Request[Any, Any, Any],
    read_db: NamedDependency[ReadDatabase],
    cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
) -> Response[Any]:
    after = read.cursor_key(cursor) if cursor else None
    rows = await read.list_contacts(
        read_db,
        channel=None,
        created_after=None,
        created_before=None,
        only=None,
        after=after,
        limit=PAGE_SIZE + 1,
    )
    rows, more = one_page(rows, PAGE_SIZE)
    return page(
        request,
        "console/contacts.html",
        title="Contacts",
        rows=rows,
        next_cursor=read.page_cursor(rows[-1]) if more else None,
        searched=False,
    )


@post("/contacts/search", guards=[VIEWERS], dependencies=components("pool", "contacts"))
async def search(
    request: Request[Any, Any, Any],
    data: Annotated[SearchForm, Form],
    pool: NamedDependency[asyncpg.Pool],
    contacts: NamedDependency[ContactRegistry],
) -> Response[Any]:
    error, rows = None, []
    try:
        channel: Channel = "sms" if data.channel == "sms" else "email"
        found = await contacts.find_text(channel, data.address)
        row = await read.get_contact(pool, found) if found else None
        rows = [row] if row else []
    except InvalidValueError as e:
        error = str(e)
    template = "console/_contact_rows.html" if is_htmx(request) else "console/contacts.html"
    return page(request, template, title="Contacts", rows=rows, next_cursor=None, searched=True, error=error)


@get("/contacts/{contact_id:uuid}", guards=[VIEWERS], dependencies=components("contacts", "directory"))
async def contact_page(
    request: Request[Any, Any, Any],
    contact_id: FromPath[UUID],
    read_db: NamedDependency[ReadDatabase],
    contacts: NamedDependency[ContactRegistry],
    directory: NamedDependency[UserDirectory],
) -> Response[Any]:
    contact = await read.get_contact(read_db, contact_id)
    if contact is None:
        raise NotFoundException("no such contact")
    names = {p.id: p.name for p in await list_programs(read_db, include_archived=True)}
    decided = await consent_state.decisions_of(read_db, contact_id, cast(Channel, contact.channel))
    sources = await evidence_sources(read_db, [c.decision.position for c in decided if c.decision.position])
    events = await timeline(read_db, contact_id, after=0, limit=TIMELINE_LIMIT)
    who = viewer(request)
    lines = await History(read_db, contacts, directory).lines(
        contact_id, events, {str(k): v for k, v in names.items()}, full_emails=may(who, ADMINS)
    )
    return page(
        request,
        "console/contact.html",
        title=f"Contact {contact.address}",
        contact=contact,
        consents=[
            {
                "name": names[c.optin_id],
                "channel": contact.channel,
                "source": sources.get(c.decision.position),
                **c.decision._asdict(),
            }
            for c in decided
            if c.decision.position is not None
        ],
        lines=lines,
        truncated=len(events) == TIMELINE_LIMIT,
        may_request=may(who, EDITORS),
        may_prove=may(who, AUDITORS),
    )
