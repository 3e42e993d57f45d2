"""Templates: create, list, read, change (a new version), archive, and a preview for editors."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from adapters.postgres.replica import ReadDatabase
from api.answers import written
from api.auth.guards import allow
from api.dependencies import components
from api.validation import invalid
from ledger.application.templates import Preview, Templates
from ledger.errors import NotFoundError
from ledger.rendering import placeholders
from ledger.template import Template, TemplateKind
from ledger.vocabulary import Actor, Channel, ProgramName
from projections import templates as read

Body = Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]
Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Variables = Annotated[dict[str, Annotated[str, msgspec.Meta(max_length=2000)]], msgspec.Meta(max_length=50)]


class NewTemplate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """With `optin_id`, the program's own template of that kind and channel (one each)."""

    name: ProgramName
    kind: TemplateKind
    channel: Channel
    body: Body
    subject: Subject | None = None
    optin_id: UUID | None = None


class TemplateChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new subject or body is a new version; `archived: true` retires the template."""

    name: ProgramName | None = None
    subject: Subject | None = None
    body: Body | None = None
    archived: bool | None = None


class TemplateOut(read.TemplateRow, frozen=True, kw_only=True):
    """The read model's row, with the variables its body uses."""

    variables: list[str]


class PreviewIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A saved template (`template_id`) or a draft (`kind`, `channel`, `body`, `subject`)."""

    template_id: UUID | None = None
    kind: TemplateKind | None = None
    channel: Channel | None = None
    subject: Subject | None = None
    body: Body | None = None
    optin_id: UUID | None = None
    variables: Variables = msgspec.field(default_factory=dict)
    fill_missing: bool = False


def _out(t: Template | read.TemplateRow) -> TemplateOut:
    if isinstance(t, Template):
        version, created, updated = t.content_version, t.created_on, t.modified_on
    else:
        version, created, updated = t.version, t.created_at, t.updated_at
    return TemplateOut(
        id=t.id,
        name=t.name,
        kind=t.kind,
        channel=t.channel,
        optin_id=t.optin_id,
        subject=t.subject,
        body=t.body,
        version=version,
        is_default=t.is_default,
        archived=t.archived,
        variables=placeholders((t.subject or "") + "\n" + t.body),
        created_at=created,
        updated_at=updated,
    )


class TemplatesController(Controller):
    path = "/v1/templates"
    tags = ("templates",)
    dependencies = components("templates")

    @post("/", guards=[allow("staff")], summary="Create a template")
    async def create(
        self,
        data: JSONBody[NewTemplate],
        templates: NamedDependency[Templates],
        actor: NamedDependency[Actor],
    ) -> Response[TemplateOut]:
        template, position = await templates.create(
            name=data.name,
            kind=data.kind,
            channel=data.channel,
            body=data.body,
            subject=data.subject,
            optin_id=data.optin_id,
            actor=actor,
        )
        return written(_out(template), position, 201)

    @get("/", guards=[allow("staff", "service")], summary="List templates, with the variables each uses")
    async def list(
        self,
        read_db: NamedDependency[ReadDatabase],
        kind: FromQuery[TemplateKind | None] = None,
        channel: FromQuery[Channel | None] = None,
        optin_id: FromQuery[UUID | None] = None,
        include_archived: Annotated[bool, QueryParameter()] = False,
    ) -> list[TemplateOut]:
        rows = await read.list_templates(
            read_db, kind=kind, channel=channel, optin_id=optin_id, include_archived=include_archived
        )
        return [_out(r) for r in rows]

    @get("/{template_id:uuid}", guards=[allow("staff", "service")], summary="One template and its variables")
    async def get_one(
        self,
        template_id: FromPath[UUID],
        read_db: NamedDependency[ReadDatabase],
    ) -> TemplateOut:
        row = await read.get_template(read_db, template_id)
        if row is None:
            raise NotFoundException(f"no template with id {template_id}")
        return _out(row)

    @patch("/{template_id:uuid}", guards=[allow("staff")], summary="Change (a new version) or archive")
    async def change(
        self,
        template_id: FromPath[UUID],
        data: JSONBody[TemplateChange],
        templates: NamedDependency[Templates],
        actor: NamedDependency[Actor],
    ) -> Response[TemplateOut]:
        template, position = await templates.change(
            template_id,
            actor=actor,
            name=data.name,
            subject=data.subject,
            body=data.body,
            archived=data.archived,
        )
        return written(_out(template), position, 200)

    @post(
        "/preview",
        guards=[allow("staff")],
        status_code=200,
        summary="Render a template or a draft",
    )
    async def preview(self, data: JSONBody[PreviewIn], templates: NamedDependency[Templates]) -> Preview:
        try:
            return await preview_of(templates, data)
        except NotFoundError as e:  # an id in the body, not this URL, names nothing: the body is wrong
            raise invalid("template_id", str(e), "body") from None


async def preview_of(templates: Templates, data: PreviewIn) -> Preview:
    """`PreviewIn` as the use case's arguments (shared with the console's live preview)."""
    return await templates.preview(
        template_id=data.template_id,
        kind=data.kind,
        channel=data.channel,
        subject=data.subject,
        body=data.body,
        optin_id=data.optin_id,
        variables=data.variables,
        fill_missing=data.fill_missing,
    )
