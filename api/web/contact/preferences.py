""" "My preferences": after a code, the contact sees their own address in clear (the one page that
shows it) and every program on their channel with a toggle that takes effect at once.

A toggle works as a plain form (the answer is the page again, saying what changed, with focus
back on the toggle that was pressed) and, with htmx, swaps only its row: the button keeps its id,
so htmx puts focus back on it, and the page's live region says what changed. htmx settles with no
delay (base.html), so the swapped-in toggle answers the very next key press as a partial update.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from api.auth.authenticator import Authenticator
from api.auth.guards import anyone, contact_only, principal_of
from api.dependencies import client_of, components
from api.web.contact.steps import (
    EXPIRED,
    PAGES,
    AddressForm,
    CodeForm,
    ContactPages,
    channel_of,
    entered,
    finish,
    pending_address,
    resend,
    sentence,
    session_proof,
    shown_version,
    signed_in,
    start,
)
from api.web.contact.words import change_words
from api.web.cookies import CONTACT, clear_cookie
from api.web.rendering import Form, is_htmx, page, see_other
from ledger.address import Address
from ledger.errors import DisclosureChangedError, InvalidValueError, RateLimitedError, VerificationError
from ledger.vocabulary import Action
from projections.own_consents import OwnConsent, own_consents

TITLE = "My preferences"


class ToggleForm(msgspec.Struct, kw_only=True):
    optin_id: UUID
    action: str = "opt_out"
    disclosure_version: str = ""


def _start_page(
    request: Request[Any, Any, Any],
    pages: ContactPages,
    *,
    status: int = 200,
    error: str | None = None,
    form: AddressForm | None = None,
    field_error: str | None = None,
) -> Response[Any]:
    return page(
        request,
        "contact/start.html",
        status=status,
        title=TITLE,
        error=error,
        entered=entered(request, pages.settings, form),
        field_error=field_error,
    )


def _code_page(
    request: Request[Any, Any, Any],
    address: Address,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response[Any]:
    return page(
        request,
        "contact/code.html",
        status=status,
        title="Enter your code",
        address=address,
        form_action="/preferences/confirm",
        resend_action="/preferences/resend",
        restart="/preferences#address",
        action="",
        disclosure_version="",
        code_error=error,
        notice=notice,
    )


async def _own(pages: ContactPages, contact_id: UUID) -> tuple[Address, list[OwnConsent]]:
    address = await pages.contacts.address_of(contact_id)
    return address, await own_consents(pages.pool, contact_id, address.channel)


class PreferencePages(Controller):
    path = "/preferences"
    include_in_schema = False
    dependencies = PAGES

    @get("/", guards=[anyone])
    async def show(
        self,
        request: Request[Any, Any, Any],
        pages: NamedDependency[ContactPages],
        changed: Annotated[UUID | None, QueryParameter()] = None,
    ) -> Response[Any]:
        """`changed`: the program a plain-form toggle just changed (its new status is said)."""
        contact_id = signed_in(request)
        if contact_id is None:
            return _start_page(request, pages)
        address, consents = await _own(pages, contact_id)
        done = next((c for c in consents if c.optin_id == changed), None)
        notice = change_words(done.status, done.name, done.channel) if done else None
        return page(
            request,
            "contact/preferences.html",
            title=TITLE,
            address=address,
            consents=consents,
            notice=notice,
            focus_toggle=done.optin_id if done else None,
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
        except RateLimitedError as e:
            return _start_page(request, pages, status=429, error=str(e), form=data)
        except InvalidValueError as e:
            return _start_page(request, pages, status=422, form=data, field_error=sentence(e))
        response = _code_page(request, address)
        response.cookies.append(cookie)
        return response

    @post("/resend", guards=[anyone])
    async def resend_code(
        self, request: Request[Any, Any, Any], pages: NamedDependency[ContactPages]
    ) -> Response[Any]:
        try:
            address, cookie = await resend(request, pages, client_of(request))
        except RateLimitedError as e:
            return _start_page(request, pages, status=429, error=str(e))
        except InvalidValueError as e:
            return _start_page(request, pages, status=410, error=str(e))
        notice = "A new code is on its way. Codes sent before it no longer work."
        response = _code_page(request, address, notice=notice)
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
            return _start_page(request, pages, status=410, error=EXPIRED)
        try:
            _, _, cookies = await finish(pages, address, data.code)
        except (VerificationError, InvalidValueError) as e:
            return _code_page(request, address, status=422, error=sentence(e))
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
        error, position = None, 0
        try:
            position = await pages.self_service.set_own(
                contact_id,
                data.optin_id,
                action,
                client_of(request),
                shown_version=shown_version(data.disclosure_version),
                proof=session_proof(request),
            )
        except DisclosureChangedError:
            error = "The text of this program changed since this page was loaded, so nothing changed. "
            error += "Read the new text below, then choose again."
        if not is_htmx(request) and error is None:
            # the replica may answer the next page: once it has the change
            return see_other(request, f"/preferences?changed={data.optin_id}&min_position={position}")
        address, consents = await _own(pages, contact_id)
        if not is_htmx(request):
            return page(
                request,
                "contact/preferences.html",
                status=409,
                title=TITLE,
                address=address,
                consents=consents,
                error=error,
            )
        mine = next(c for c in consents if c.optin_id == data.optin_id)
        said = error or change_words(mine.status, mine.name, mine.channel)
        return page(request, "contact/_consent_row.html", consent=mine, row_error=error, announce=said)

    @post("/sign-out", guards=[anyone], dependencies=components("authenticator"))
    async def sign_out(
        self,
        request: Request[Any, Any, Any],
        pages: NamedDependency[ContactPages],
        authenticator: NamedDependency[Authenticator],
    ) -> Response[Any]:
        session = principal_of(request).session_id if signed_in(request) else None
        if session:  # ended on the server too: a copy of the cookie is refused from now on
            await authenticator.end_contact_session(session)
        response = see_other(request, "/preferences")
        response.cookies.append(clear_cookie(pages.settings, CONTACT))
        return response
