"""Console programs: list, create, edit (a new disclosure text becomes a new version), archive,
with a live preview of the disclosure exactly as contacts will see it."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from adapters.postgres.replica import ReadDatabase
from adapters.settings import Settings
from api.dependencies import components
from api.routes.programs import NewProgram, ProgramChange
from api.web.console.access import EDITORS, VIEWERS, may
from api.web.rendering import Form, page, see_other, viewer
from ledger.application.programs import Programs
from ledger.errors import DomainError
from ledger.program import disclosure_sha256
from ledger.vocabulary import Actor
from projections.programs import get_program, list_programs


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


@get("/programs", guards=[VIEWERS], dependencies=components("settings"))
async def programs_page(
    request: Request[Any, Any, Any],
    read_db: NamedDependency[ReadDatabase],
    settings: NamedDependency[Settings],
) -> Response[Any]:
    return page(
        request,
        "console/programs.html",
        title="Programs",
        programs=await list_programs(read_db, include_archived=True),
        may_edit=may(viewer(request), EDITORS),
        public_url=settings.public_url,
    )


@get("/programs/new", guards=[EDITORS])
async def new_program(request: Request[Any, Any, Any]) -> Response[Any]:
    return page(
        request, "console/program_form.html", title="New program", program=None, form=ProgramForm(email="on")
    )


@post("/programs", guards=[EDITORS], dependencies=components("programs"))
async def create(
    request: Request[Any, Any, Any],
    data: Annotated[ProgramForm, Form],
    programs: NamedDependency[Programs],
    actor: NamedDependency[Actor],
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
        program, position = await programs.create(
            name=body.name,
            description=body.description,
            purpose=body.purpose,
            channels=body.channels,
            disclosure=body.disclosure,
            actor=actor,
        )
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
    return see_other(request, f"/console/programs/{program.id}?min_position={position}")


@get("/programs/{optin_id:uuid}", guards=[VIEWERS])
async def program_page(
    request: Request[Any, Any, Any],
    optin_id: FromPath[UUID],
    read_db: NamedDependency[ReadDatabase],
) -> Response[Any]:
    program = await get_program(read_db, optin_id)
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


@post("/programs/{optin_id:uuid}", guards=[EDITORS], dependencies=components("pool", "programs"))
async def change(
    request: Request[Any, Any, Any],
    optin_id: FromPath[UUID],
    data: Annotated[ProgramForm, Form],
    pool: NamedDependency[asyncpg.Pool],
    programs: NamedDependency[Programs],
    actor: NamedDependency[Actor],
) -> Response[Any]:
    program = await get_program(pool, optin_id)
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
        _, position = await programs.change(
            optin_id,
            actor=actor,
            name=body.name,
            description=body.description,
            channels=body.channels,
            disclosure=body.disclosure,
            archived=body.archived,
        )
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
    return see_other(request, f"/console/programs/{optin_id}?min_position={position}")


@post("/programs/preview", guards=[EDITORS])
async def preview(request: Request[Any, Any, Any], data: Annotated[ProgramForm, Form]) -> Response[Any]:
    """The disclosure as contacts will see it, with the hash its evidence will carry."""
    text = _text(data.disclosure)
    return page(request, "console/_preview.html", text=text, sha256=disclosure_sha256(text), length=len(text))
