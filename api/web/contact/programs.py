"""Per-program pages: opt in (the disclosure shown, then a code) and opt out (a code, or one step
when this browser has already proved the address).

The disclosure is shown exactly as stored and its version travels with the form, so the consent
event names the text the contact read; if the program's text changed in between, the opt-in is
refused and the new text shown instead.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from api.auth.guards import anyone, contact_only
from api.dependencies import client_of
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
from api.web.rendering import Form, page
from ledger.address import Address
from ledger.errors import DisclosureChangedError, InvalidValueError, RateLimitedError, VerificationError
from ledger.vocabulary import Action
from projections import consent_state
from projections.programs import ProgramRow, disclosure_text, get_program


def _action(value: str) -> Action:
    return "opt_out" if value == "opt_out" else "opt_in"


async def _program(pages: ContactPages, optin_id: UUID) -> ProgramRow:
    program = await get_program(pages.pool, optin_id)
    if program is None or program.archived:
        raise NotFoundException("no such program")
    return program


async def program_page(
    request: Request[Any, Any, Any],
    pages: ContactPages,
    program: ProgramRow,
    action: str,
    *,
    status: int = 200,
    error: str | None = None,
    form: AddressForm | None = None,
    field_error: str | None = None,
    contact_id: UUID | None = None,
) -> Response[Any]:
    """The program, its disclosure (to opt in), and either the address form or the one-step button.

    `form` and `field_error`: the address just refused, shown again with why; `contact_id`: the
    contact a code has just proved (their session cookie goes out with this very answer)."""
    contact_id = contact_id or signed_in(request)
    verified = None
    if contact_id is not None:
        address = await pages.contacts.address_of(contact_id)
        verified = address.masked if address.channel in program.channels else None
    title = ("Join: " if action == "opt_in" else "Stop: ") + program.name
    return page(
        request,
        "contact/program.html",
        status=status,
        title=title,
        program=program,
        action=action,
        verified=verified,
        error=error,
        entered=entered(request, pages.settings, form),
        field_error=field_error,
    )


async def apply(
    request: Request[Any, Any, Any],
    pages: ContactPages,
    program: ProgramRow,
    contact_id: UUID,
    action: Action,
    version: int | None,
    proof: UUID | None = None,
) -> Response[Any]:
    """The verified contact's change, at once; the answer shows the text the evidence names."""
    try:
        await pages.self_service.set_own(
            contact_id, program.id, action, client_of(request), shown_version=version, proof=proof
        )
    except DisclosureChangedError:
        fresh = await _program(pages, program.id)
        return await program_page(
            request, pages, fresh, action, status=409, error=_changed(proof), contact_id=contact_id
        )
    channel = (await pages.contacts.address_of(contact_id)).channel
    state = await consent_state.consent_of(pages.pool, contact_id, program.id, channel)
    recorded = None
    if action == "opt_in" and version is not None:
        recorded = await disclosure_text(pages.pool, program.id, version)
    return page(
        request,
        "contact/done.html",
        title="You opted in" if action == "opt_in" else "You opted out",
        program=program,
        action=action,
        status_now=state.status,
        channel=channel,
        recorded=recorded,
        version=version,
    )


def _code_page(
    request: Request[Any, Any, Any],
    optin_id: UUID,
    address: Address,
    action: str,
    disclosure_version: str,
    *,
    error: str | None = None,
    notice: str | None = None,
) -> Response[Any]:
    """The code step, showing the address in full to the person who typed it (it lives only in
    their own sealed cookie); with `error` (a refused code) it answers 422."""
    return page(
        request,
        "contact/code.html",
        status=422 if error else 200,
        title="Enter your code",
        address=address,
        form_action=f"/programs/{optin_id}/confirm",
        resend_action=f"/programs/{optin_id}/resend",
        restart=f"/programs/{optin_id}/{'opt-in' if action == 'opt_in' else 'opt-out'}#address",
        action=action,
        disclosure_version=disclosure_version,
        code_error=error,
        notice=notice,
    )


class ProgramPages(Controller):
    path = "/programs/{optin_id:uuid}"
    include_in_schema = False
    dependencies = PAGES

    @get("/opt-in", guards=[anyone])
    async def opt_in(
        self, request: Request[Any, Any, Any], optin_id: FromPath[UUID], pages: NamedDependency[ContactPages]
    ) -> Response[Any]:
        return await program_page(request, pages, await _program(pages, optin_id), "opt_in")

    @get("/opt-out", guards=[anyone])
    async def opt_out(
        self, request: Request[Any, Any, Any], optin_id: FromPath[UUID], pages: NamedDependency[ContactPages]
    ) -> Response[Any]:
        return await program_page(request, pages, await _program(pages, optin_id), "opt_out")

    @post("/code", guards=[anyone])
    async def code(
        self,
        request: Request[Any, Any, Any],
        optin_id: FromPath[UUID],
        data: Annotated[AddressForm, Form],
        pages: NamedDependency[ContactPages],
    ) -> Response[Any]:
        program, action = await _program(pages, optin_id), _action(data.action)
        try:
            channel = channel_of(data.channel, program.channels)
            address, cookie = await start(request, pages, channel, data.address, client_of(request))
        except RateLimitedError as e:
            return await program_page(request, pages, program, action, status=429, error=str(e), form=data)
        except InvalidValueError as e:
            return await program_page(
                request, pages, program, action, status=422, form=data, field_error=sentence(e)
            )
        response = _code_page(request, optin_id, address, action, data.disclosure_version)
        response.cookies.append(cookie)
        return response

    @post("/resend", guards=[anyone])
    async def resend_code(
        self,
        request: Request[Any, Any, Any],
        optin_id: FromPath[UUID],
        data: Annotated[CodeForm, Form],
        pages: NamedDependency[ContactPages],
    ) -> Response[Any]:
        program, action = await _program(pages, optin_id), _action(data.action)
        try:
            address, cookie = await resend(request, pages, client_of(request))
        except RateLimitedError as e:
            return await program_page(request, pages, program, action, status=429, error=str(e))
        except InvalidValueError as e:
            return await program_page(request, pages, program, action, status=410, error=str(e))
        notice = "A new code is on its way. Codes sent before it no longer work."
        response = _code_page(request, optin_id, address, action, data.disclosure_version, notice=notice)
        response.cookies.append(cookie)
        return response

    @post("/confirm", guards=[anyone])
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        optin_id: FromPath[UUID],
        data: Annotated[CodeForm, Form],
        pages: NamedDependency[ContactPages],
    ) -> Response[Any]:
        program, action = await _program(pages, optin_id), _action(data.action)
        address = pending_address(request, pages.settings)
        if address is None:
            return await program_page(request, pages, program, action, status=410, error=EXPIRED)
        try:
            contact_id, proof, cookies = await finish(pages, address, data.code)
        except (VerificationError, InvalidValueError) as e:
            return _code_page(request, optin_id, address, action, data.disclosure_version, error=_refusal(e))
        response = await apply(
            request, pages, program, contact_id, action, shown_version(data.disclosure_version), proof
        )
        response.cookies.extend(cookies)
        return response

    @post("/apply", guards=[contact_only])
    async def apply_verified(
        self,
        request: Request[Any, Any, Any],
        optin_id: FromPath[UUID],
        data: Annotated[CodeForm, Form],
        pages: NamedDependency[ContactPages],
    ) -> Response[Any]:
        contact_id = signed_in(request)
        assert contact_id is not None
        program = await _program(pages, optin_id)
        return await apply(
            request,
            pages,
            program,
            contact_id,
            _action(data.action),
            shown_version(data.disclosure_version),
            session_proof(request),
        )


def _refusal(error: Exception) -> str:
    if isinstance(error, VerificationError) and error.attempts_left is not None:
        return f"{sentence(error)[:-1]} ({error.attempts_left} tries left)."
    return sentence(error)


def _changed(proof: UUID | None) -> str:
    """Why an opt-in was not recorded: the text changed between reading it and confirming."""
    confirmed = " Your address is confirmed, so no new code is needed." if proof else ""
    return (
        "The text below changed while you were confirming, so nothing was recorded yet."
        f"{confirmed} Read the new text and choose \u201cOpt in now\u201d if you agree."
    )
