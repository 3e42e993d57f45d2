"""Console programs: list, create, edit (a new disclosure text becomes a new version), archive,
with a live preview of the disclosure exactly as contacts will see it."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from api.routes.programs import NewProgram, ProgramChange, change_program, create_program
from api.services import Services
from api.web.console.access import EDITORS, VIEWERS, may
from api.web.rendering import Form, page, see_other, viewer
from ledger.errors import DomainError
from ledger.program import disclosure_sha256
from ledger.vocabulary import Actor
from projections.programs import get_program, list_programs
from projections.runner import wait_for_position


class ProgramForm(msgspec.Struct, kw_only=True):
    name: str = ""
    description: str = ""
    purpose: str = "marketing"
    email: str = ""
    sms: str = ""
    disclosure: str = ""
    archived: str = ""

    def channels(self) -> list[str]:
        return [c for c, on in (("email", self.email), ("sms", self.sms)) if on]


def _text(value: str) -> str:
    # Browsers send form text with CRLF line ends; the ledger keeps the text as typed.
    return value.replace("\r\n", "\n")


@get("/programs", guards=[VIEWERS])
async def programs_page(
    request: Request[Any, Any, Any], services: NamedDependency[Services]
) -> Response[Any]:
    return page(
        request,
        "console/programs.html",
        title="Programs",
        programs=await list_programs(services.pool, include_archived=True),
        may_edit=may(viewer(request), EDITORS),
        public_url=services.settings.public_url,
    )


@get("/programs/new", guards=[EDITORS])
async def new_program(request: Request[Any, Any, Any]) -> Response[Any]:
    return page(
        request, "console/program_form.html", title="New program", program=None, form=ProgramForm(email="on")
    )


@post("/programs", guards=[EDITORS])
async def create(
    request: Request[Any, Any, Any], data: Annotated[ProgramForm, Form], services: NamedDependency[Services]
) -> Response[Any]:
    try:
        body = msgspec.convert(
            {
                "name": data.name.strip(),
                "description": _text(data.description),
                "purpose": data.purpose,
                "channels": data.channels(),
                "disclosure": _text(data.disclosure),
            },
            NewProgram,
        )
        program, position = await create_program(services, body, _actor(request))
    except (msgspec.ValidationError, DomainError) as e:
        return page(
            request,
            "console/program_form.html",
            status=422,
            title="New program",
            program=None,
            form=data,
            error=str(e),
        )
    await wait_for_position(services.pool, position, ["optins"])
    return see_other(request, f"/console/programs/{program.id}")


@get("/programs/{optin_id:uuid}", guards=[VIEWERS])
async def program_page(
    request: Request[Any, Any, Any], optin_id: FromPath[UUID], services: NamedDependency[Services]
) -> Response[Any]:
    program = await get_program(services.pool, optin_id)
    if program is None:
        raise NotFoundException("no such program")
    form = ProgramForm(
        name=program.name,
        description=program.description,
        purpose=program.purpose,
        email="on" if "email" in program.channels else "",
        sms="on" if "sms" in program.channels else "",
        disclosure=program.disclosure,
    )
    editable = may(viewer(request), EDITORS) and not program.archived
    return page(
        request,
        "console/program_form.html",
        title=program.name,
        program=program,
        form=form,
        editable=editable,
    )


@post("/programs/{optin_id:uuid}", guards=[EDITORS])
async def change(
    request: Request[Any, Any, Any],
    optin_id: FromPath[UUID],
    data: Annotated[ProgramForm, Form],
    services: NamedDependency[Services],
) -> Response[Any]:
    program = await get_program(services.pool, optin_id)
    if program is None:
        raise NotFoundException("no such program")
    try:
        body = msgspec.convert(
            {
                "name": data.name.strip(),
                "description": _text(data.description),
                "channels": data.channels(),
                "disclosure": _text(data.disclosure),
                "archived": bool(data.archived),
            },
            ProgramChange,
        )
        _, position = await change_program(services, optin_id, body, _actor(request))
    except (msgspec.ValidationError, DomainError) as e:
        return page(
            request,
            "console/program_form.html",
            status=422,
            title=program.name,
            program=program,
            form=data,
            editable=True,
            error=str(e),
        )
    await wait_for_position(services.pool, position, ["optins"])
    return see_other(request, f"/console/programs/{optin_id}")


@post("/programs/preview", guards=[EDITORS])
async def preview(request: Request[Any, Any, Any], data: Annotated[ProgramForm, Form]) -> Response[Any]:
    """The disclosure as contacts will see it, with the hash its evidence will carry."""
    text = _text(data.disclosure)
    return page(request, "console/_preview.html", text=text, sha256=disclosure_sha256(text), length=len(text))


def _actor(request: Request[Any, Any, Any]) -> Actor:
    user = viewer(request)
    assert user is not None
    return user.actor(request.scope.get("state", {}).get("request_id"))
