"""Console templates (staff): list, create, edit (a new version) or archive, with a live preview
that renders sample values, counts SMS segments and runs the opt-out wording check: the API's
own use cases (`ledger/application/templates.py`)."""

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
from api.dependencies import components
from api.routes.templates import NewTemplate, PreviewIn, TemplateChange, preview_of
from api.web.console.access import EDITORS
from api.web.rendering import Form, page, see_other
from ledger.application.templates import Templates
from ledger.errors import DomainError
from ledger.template import KINDS
from ledger.vocabulary import Actor
from projections import templates as read
from projections.programs import list_programs


class TemplateForm(msgspec.Struct, kw_only=True):
    name: str = ""
    kind: str = "promotional"
    channel: str = "email"
    optin_id: str = ""
    subject: str = ""
    body: str = ""
    archived: str = ""


def _text(value: str) -> str:
    return value.replace("\r\n", "\n")  # browsers send CRLF; templates keep the text as typed


def _subject(form: TemplateForm) -> str | None:
    return form.subject.strip() or None if form.channel == "email" else None


async def _form_page(
    request: Request[Any, Any, Any],
    pool: ReadDatabase,
    form: TemplateForm,
    template: read.TemplateRow | None,
    *,
    status: int = 200,
    error: str | None = None,
) -> Response[Any]:
    return page(
        request,
        "console/template_form.html",
        status=status,
        title=template.name if template else "New template",
        saved=template,
        form=form,
        kinds=KINDS,
        programs=await list_programs(pool, include_archived=False),
        error=error,
    )


@get("/templates", guards=[EDITORS])
async def templates_page(
    request: Request[Any, Any, Any],
    read_db: NamedDependency[ReadDatabase],
) -> Response[Any]:
    names = {p.id: p.name for p in await list_programs(read_db, include_archived=True)}
    rows = await read.list_templates(read_db, include_archived=True)
    return page(request, "console/templates.html", title="Templates", templates=rows, programs=names)


@get("/templates/new", guards=[EDITORS])
async def new_template(
    request: Request[Any, Any, Any], read_db: NamedDependency[ReadDatabase]
) -> Response[Any]:
    return await _form_page(request, read_db, TemplateForm(), None)


@post("/templates", guards=[EDITORS], dependencies=components("pool", "templates"))
async def create(
    request: Request[Any, Any, Any],
    data: Annotated[TemplateForm, Form],
    pool: NamedDependency[asyncpg.Pool],
    templates: NamedDependency[Templates],
    actor: NamedDependency[Actor],
) -> Response[Any]:
    try:
        body = msgspec.convert(
            {
                "name": data.name.strip(),
                "kind": data.kind,
                "channel": data.channel,
                "subject": _subject(data),
                "body": _text(data.body),
                "optin_id": data.optin_id or None,
            },
            NewTemplate,
        )
        template, position = await templates.create(
            name=body.name,
            kind=body.kind,
            channel=body.channel,
            body=body.body,
            subject=body.subject,
            optin_id=body.optin_id,
            actor=actor,
        )
    except (msgspec.ValidationError, DomainError) as e:
        return await _form_page(request, pool, data, None, status=422, error=str(e))
    return see_other(request, f"/console/templates/{template.id}?min_position={position}")


@get("/templates/{template_id:uuid}", guards=[EDITORS])
async def template_page(
    request: Request[Any, Any, Any],
    template_id: FromPath[UUID],
    read_db: NamedDependency[ReadDatabase],
) -> Response[Any]:
    template = await read.get_template(read_db, template_id)
    if template is None:
        raise NotFoundException("no such template")
    form = TemplateForm(
        name=template.name,
        kind=template.kind,
        channel=template.channel,
        optin_id=str(template.optin_id or ""),
        subject=template.subject or "",
        body=template.body,
    )
    return await _form_page(request, read_db, form, template)


@post("/templates/{template_id:uuid}", guards=[EDITORS], dependencies=components("pool", "templates"))
async def change(
    request: Request[Any, Any, Any],
    template_id: FromPath[UUID],
    data: Annotated[TemplateForm, Form],
    pool: NamedDependency[asyncpg.Pool],
    templates: NamedDependency[Templates],
    actor: NamedDependency[Actor],
) -> Response[Any]:
    template = await read.get_template(pool, template_id)
    if template is None:
        raise NotFoundException("no such template")
    data.kind, data.channel = template.kind, template.channel  # fixed once created
    try:
        body = msgspec.convert(
            {
                "name": data.name.strip(),
                "subject": _subject(data),
                "body": _text(data.body),
                "archived": bool(data.archived),
            },
            TemplateChange,
        )
        _, position = await templates.change(
            template_id,
            actor=actor,
            name=body.name,
            subject=body.subject,
            body=body.body,
            archived=body.archived,
        )
    except (msgspec.ValidationError, DomainError) as e:
        return await _form_page(request, pool, data, template, status=422, error=str(e))
    return see_other(request, f"/console/templates/{template_id}?min_position={position}")


@post("/templates/preview", guards=[EDITORS], dependencies=components("templates"))
async def preview(
    request: Request[Any, Any, Any],
    data: Annotated[TemplateForm, Form],
    templates: NamedDependency[Templates],
) -> Response[Any]:
    """The draft rendered with sample values, its SMS segments, and what the checks refuse."""
    try:
        draft = msgspec.convert(
            {
                "kind": data.kind,
                "channel": data.channel,
                "subject": _subject(data),
                "body": _text(data.body) or " ",
                "optin_id": data.optin_id or None,
                "fill_missing": True,
            },
            PreviewIn,
        )
        shown = await preview_of(templates, draft)
    except (msgspec.ValidationError, DomainError) as e:
        return page(request, "console/_template_preview.html", shown=None, error=str(e))
    return page(request, "console/_template_preview.html", shown=shown)
