"""Templates: create, list, read, change (a new version), archive, and a preview for editors."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.auth.guards import allow, principal_of
from api.services import Services, request_id, written
from ledger.errors import ConflictError, DomainError, InvalidValueError
from ledger.program import Program
from ledger.rendering import Rendered, placeholders, render
from ledger.template import Template, TemplateKind, check_content, create_template
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


class PreviewOut(msgspec.Struct, frozen=True, kw_only=True):
    rendered: Rendered
    missing: list[str]
    problems: list[str]


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
    tags = ["templates"]  # noqa: RUF012 (Litestar reads it as a class attribute)

    @post("/", guards=[allow("staff")], summary="Create a template")
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[NewTemplate],
        services: NamedDependency[Services],
    ) -> Response[TemplateOut]:
        template, position = await create_from(
            services, data, principal_of(request).actor(request_id(request))
        )
        return written(_out(template), position, 201)

    @get("/", guards=[allow("staff")], summary="List templates")
    async def list(
        self,
        services: NamedDependency[Services],
        caught_up: NamedDependency[int | None],
        kind: FromQuery[TemplateKind | None] = None,
        channel: FromQuery[Channel | None] = None,
        optin_id: FromQuery[UUID | None] = None,
        include_archived: Annotated[bool, QueryParameter()] = False,
    ) -> list[TemplateOut]:
        rows = await read.list_templates(
            services.pool, kind=kind, channel=channel, optin_id=optin_id, include_archived=include_archived
        )
        return [_out(r) for r in rows]

    @get("/{template_id:uuid}", guards=[allow("staff")], summary="One template")
    async def get_one(
        self,
        template_id: FromPath[UUID],
        services: NamedDependency[Services],
        caught_up: NamedDependency[int | None],
    ) -> TemplateOut:
        row = await read.get_template(services.pool, template_id)
        if row is None:
            raise NotFoundException(f"no template with id {template_id}")
        return _out(row)

    @patch("/{template_id:uuid}", guards=[allow("staff")], summary="Change (a new version) or archive")
    async def change(
        self,
        request: Request[Any, Any, Any],
        template_id: FromPath[UUID],
        data: JSONBody[TemplateChange],
        services: NamedDependency[Services],
    ) -> Response[TemplateOut]:
        actor = principal_of(request).actor(request_id(request))
        template, position = await change_template(services, template_id, data, actor)
        return written(_out(template), position, 200)

    @post("/preview", guards=[allow("staff")], status_code=200, summary="Render a template or a draft")
    async def preview(self, data: JSONBody[PreviewIn], services: NamedDependency[Services]) -> PreviewOut:
        return await preview_template(services, data)


async def create_from(services: Services, data: NewTemplate, actor: Actor) -> tuple[Template, int]:
    """Create and save a template (shared by the API and the console)."""
    if data.optin_id is not None:
        program = await services.repository.get(Program, data.optin_id)
        if data.channel not in program.channels:
            raise InvalidValueError(f"the program does not use the {data.channel} channel")
    template = create_template(
        name=data.name,
        kind=data.kind,
        channel=data.channel,
        subject=data.subject,
        body=data.body,
        optin_id=data.optin_id,
        actor=actor,
    )
    try:
        position = await services.repository.save(template)
    except ConflictError:
        raise ConflictError(
            f"the program already has a {data.kind} template for {data.channel}: change that one"
        ) from None
    return template, position


async def change_template(
    services: Services, template_id: UUID, data: TemplateChange, actor: Actor
) -> tuple[Template, int]:
    """Rename, revise (a new version) or archive, then save."""
    template = await services.repository.get(Template, template_id)
    if data.name is not None:
        template.rename(data.name, actor)
    if data.subject is not None or data.body is not None:
        subject = data.subject if data.subject is not None else template.subject
        template.revise(subject, data.body if data.body is not None else template.body, actor)
    if data.archived:
        template.archive(actor)
    return template, await services.repository.save(template)


async def preview_template(services: Services, data: PreviewIn) -> PreviewOut:
    """What a message would look like (sample values for the ledger's own variables), its SMS
    length and segments, and what would stop the draft from being saved."""
    if data.template_id is not None:
        saved = await services.repository.get(Template, data.template_id)
        kind, channel, subject, body = saved.kind, saved.channel, saved.subject, saved.body
    elif data.kind is None or data.channel is None or data.body is None:
        raise InvalidValueError("give a template_id, or a draft's kind, channel and body")
    else:
        kind, channel, subject, body = data.kind, data.channel, data.subject, data.body
    problems = []
    try:
        check_content(kind, channel, subject, body)
    except DomainError as e:
        problems.append(str(e))
    program = await services.repository.find(Program, data.optin_id) if data.optin_id else None
    values = {**_samples(services, program), **data.variables}
    needed = placeholders((subject or "") + "\n" + body)
    missing = [name for name in needed if name not in values]
    if data.fill_missing:
        values |= {name: f"[{name}]" for name in missing}
    rendered = render(channel, subject, body, values)
    return PreviewOut(rendered=rendered, missing=missing, problems=problems)


def _samples(services: Services, program: Program | None) -> dict[str, str]:
    """Stand-ins for the variables the ledger fills in when it sends."""
    return {
        "program_name": program.name if program else "Example program",
        "disclosure": program.disclosure if program else "The disclosure text of the program.",
        "unsubscribe_url": f"{services.settings.public_url}/u/example",
        "code": "123456",
        "expires_minutes": "10",
    }
