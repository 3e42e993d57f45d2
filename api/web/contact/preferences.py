""" "My preferences": after a code, the contact sees their own address in clear (the one page that
shows it) and every program on their channel with a toggle that takes effect at once."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency

from api.auth.guards import anyone, contact_only
from api.dependencies import client_of
from api.web.contact.steps import (
    PAGES,
    AddressForm,
    CodeForm,
    ContactPages,
    channel_of,
    finish,
    pending_address,
    session_proof,
    shown_version,
    signed_in,
    start,
)
from api.web.cookies import CONTACT, clear_cookie
from api.web.rendering import Form, is_htmx, page, see_other
from ledger.errors import DisclosureChangedError, InvalidValueError, RateLimitedError, VerificationError
from ledger.vocabulary import Action
from projections.own_consents import own_consents


class ToggleForm(msgspec.Struct, kw_only=True):
    optin_id: UUID
    action: str = "opt_out"
    disclosure_version: str = ""


def _code_page(
    request: Request[Any, Any, Any], masked: str, *, status: int = 200, error: str | None = None
) -> Response[Any]:
    return page(
        request,
        "contact/code.html",
        status=status,
        title="Enter your code",
        masked=masked,
        form_action="/preferences/confirm",
        restart="/preferences",
        action="",
        disclosure_version="",
        error=error,
    )


class PreferencePages(Controller):
    path = "/preferences"
    include_in_schema = False
    dependencies = PAGES

    @get("/", guards=[anyone])
    async def show(
        self, request: Request[Any, Any, Any], pages: NamedDependency[ContactPages]
    ) -> Response[Any]:
        contact_id = signed_in(request)
        if contact_id is None:
            return page(request, "contact/start.html", title="My preferences")
        address = await pages.contacts.address_of(contact_id)
        return page(
            request,
            "contact/preferences.html",
            title="My preferences",
            address=address,
            consents=await own_consents(pages.pool, contact_id, address.channel),
        )

    @post("/code", guards=[anyone])
    async def code(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[AddressForm, Form],
        pages: NamedDependency[ContactPages],
    ) -> Response[Any]:
        try:
            address, cookie = await start(
                request, pages, channel_of(data.channel), data.address, client_of(request)
            )
        except (InvalidValueError, RateLimitedError) as e:
            status = 429 if isinstance(e, RateLimitedError) else 422
            return page(request, "contact/start.html", status=status, title="My preferences", error=str(e))
        response = _code_page(request, address.masked)
        response.cookies.append(cookie)
        return response

    @post("/confirm", guards=[anyone])
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[CodeForm, Form],
        pages: NamedDependency[ContactPages],
    ) -> Response[Any]:
        address = pending_address(request, pages.settings)
        if address is None:
            error = "That code step expired. Enter your address again for a new code."
            return page(request, "contact/start.html", status=410, title="My preferences", error=error)
        try:
            _, _, cookies = await finish(pages, address, data.code)
        except (VerificationError, InvalidValueError) as e:
            return _code_page(request, address.masked, status=422, error=str(e))
        response = see_other(request, "/preferences")
        response.cookies.extend(cookies)
        return response

    @post("/consents", guards=[contact_only])
    async def change(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[ToggleForm, Form],
        pages: NamedDependency[ContactPages],
    ) -> Response[Any]:
        contact_id = signed_in(request)
        assert contact_id is not None
        action: Action = "opt_in" if data.action == "opt_in" else "opt_out"
        error = None
        try:
            await pages.self_service.set_own(
                contact_id,
                data.optin_id,
                action,
                client_of(request),
                shown_version=shown_version(data.disclosure_version),
                proof=session_proof(request),
            )
        except DisclosureChangedError as e:
            error = f"{e}: it is shown below."
        if not is_htmx(request) and error is None:
            return see_other(request, "/preferences")
        address = await pages.contacts.address_of(contact_id)
        consents = await own_consents(pages.pool, contact_id, address.channel)
        if not is_htmx(request):
            return page(
                request,
                "contact/preferences.html",
                status=409,
                title="My preferences",
                address=address,
                consents=consents,
                error=error,
            )
        mine = next(c for c in consents if c.optin_id == data.optin_id)
        return page(request, "contact/_consent_row.html", consent=mine, row_error=error)

    @post("/sign-out", guards=[anyone])
    async def sign_out(
        self, request: Request[Any, Any, Any], pages: NamedDependency[ContactPages]
    ) -> Response[Any]:
        response = see_other(request, "/preferences")
        response.cookies.append(clear_cookie(pages.settings, CONTACT))
        return response
