"""Contacts: register (idempotent per address), list and read (masked), timeline, erase."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from adapters.postgres.replica import ReadDatabase
from api.answers import one_page, written
from api.auth.guards import allow
from api.dependencies import MAX_INTEGER, components
from api.validation import DATE_TIME, instant
from ledger.application.contacts import ContactRegistry
from ledger.vocabulary import Actor, Channel
from projections import contacts as read
from projections.timeline import TimelineEntry, timeline

AddressText = Annotated[str, msgspec.Meta(min_length=1, max_length=320)]


class NewContact(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Exactly one address on one channel: nothing else is accepted (no names, no second address)."""

    channel: Channel
    address: AddressText


class RegisteredContact(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    channel: Channel
    address: str
    created: bool


class ContactPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[read.ContactRow]
    next_cursor: str | None


class TimelinePage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[TimelineEntry]
    next_after: int | None


class ContactsController(Controller):
    path = "/v1/contacts"
    tags = ("contacts",)
    dependencies = components("contacts")

    @post(
        "/",
        guards=[allow("staff", "service")],
        summary="Register a contact (idempotent): 201 when new, 200 with the same contact when known",
        responses={200: ResponseSpec(RegisteredContact, description="Already registered: the same contact.")},
    )
    async def register(
        self,
        data: JSONBody[NewContact],
        contacts: NamedDependency[ContactRegistry],
        actor: NamedDependency[Actor],
    ) -> Response[RegisteredContact]:
        registration = await contacts.register_text(data.channel, data.address, actor)
        body = RegisteredContact(
            id=registration.contact_id,
            channel=registration.address.channel,
            address=registration.address.masked,
            created=registration.created,
        )
        return written(body, registration.position, 201 if registration.created else 200)

    @get("/", guards=[allow("staff", "auditor")], summary="List contacts (masked)")
    async def list(
        self,
        contacts: NamedDependency[ContactRegistry],
        read_db: NamedDependency[ReadDatabase],
        channel: FromQuery[Channel | None] = None,
        address: Annotated[str | None, QueryParameter(description="exact address (blind index)")] = None,
        created_after: Annotated[str | None, QueryParameter(schema_extra=DATE_TIME)] = None,
        created_before: Annotated[str | None, QueryParameter(schema_extra=DATE_TIME)] = None,
        cursor: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> ContactPage:
        only = None
        if address is not None:
            only = await contacts.find_text(channel or ("email" if "@" in address else "sms"), address)
            if only is None:
                return ContactPage(items=[], next_cursor=None)
        rows = await read.list_contacts(
            read_db,
            channel=channel,
            created_after=instant("created_after", created_after),
            created_before=instant("created_before", created_before),
            only=only,
            after=_decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        rows, more = one_page(rows, limit)
        return ContactPage(items=rows, next_cursor=read.page_cursor(rows[-1]) if more else None)

    @get("/{contact_id:uuid}", guards=[allow("staff", "auditor")], summary="One contact (masked)")
    async def get_one(
        self,
        contact_id: FromPath[UUID],
        read_db: NamedDependency[ReadDatabase],
    ) -> read.ContactRow:
        row = await read.get_contact(read_db, contact_id)
        if row is None:
            raise NotFoundException(f"no contact with id {contact_id}")
        return row

    @get(
        "/{contact_id:uuid}/timeline",
        guards=[allow("staff", "auditor")],
        summary="Every event of the contact, in ledger order",
    )
    async def get_timeline(
        self,
        contact_id: FromPath[UUID],
        read_db: NamedDependency[ReadDatabase],
        after: Annotated[int, QueryParameter(ge=0, le=MAX_INTEGER)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> TimelinePage:
        if await read.get_contact(read_db, contact_id) is None:
            raise NotFoundException(f"no contact with id {contact_id}")
        items = await timeline(read_db, contact_id, after=after, limit=limit)
        return TimelinePage(items=items, next_after=items[-1].position if len(items) == limit else None)

    @delete("/{contact_id:uuid}", guards=[allow("admin")], status_code=200, summary="Erase (crypto-shred)")
    async def erase(
        self,
        contact_id: FromPath[UUID],
        contacts: NamedDependency[ContactRegistry],
        actor: NamedDependency[Actor],
    ) -> Response[dict[str, Any]]:
        position = await contacts.erase(contact_id, actor)
        return written({"id": str(contact_id), "erased": True}, position, 200)


def _decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    key = read.cursor_key(cursor)
    if key is None:
        raise ValidationException("the cursor is not one this API gave out")
    return key
