"""Message templates: create (one per kind and channel for a program), revise (a new version),
rename, archive, and preview a saved template or a draft the way it would be sent."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

import msgspec

from ledger.errors import ConflictError, DomainError, InvalidValueError
from ledger.program import Program
from ledger.rendering import Rendered, placeholders, render
from ledger.repository import Repository
from ledger.template import Template, TemplateKind, check_content, create_template
from ledger.vocabulary import Actor, Channel


class Preview(msgspec.Struct, frozen=True, kw_only=True):
    """A template rendered with sample values; `missing`: variables without a value; `problems`:
    what would stop the draft from being saved."""

    rendered: Rendered
    missing: list[str]
    problems: list[str]


class Templates:
    def __init__(self, repository: Repository, public_url: str) -> None:
        self.repository = repository
        self.public_url = public_url

    async def create(
        self,
        *,
        name: str,
        kind: TemplateKind,
        channel: Channel,
        body: str,
        subject: str | None,
        optin_id: UUID | None,
        actor: Actor,
    ) -> tuple[Template, int]:
        if optin_id is not None:
            program = await self.repository.get(Program, optin_id)
            if channel not in program.channels:
                raise InvalidValueError(f"the program does not use the {channel} channel")
        template = create_template(
            name=name, kind=kind, channel=channel, subject=subject, body=body, optin_id=optin_id, actor=actor
        )
        try:
            position = await self.repository.save(template)
        except ConflictError:
            raise ConflictError(
                f"the program already has a {kind} template for {channel}: change that one"
            ) from None
        return template, position

    async def change(
        self,
        template_id: UUID,
        *,
        actor: Actor,
        name: str | None = None,
        subject: str | None = None,
        body: str | None = None,
        archived: bool | None = None,
    ) -> tuple[Template, int]:
        """Rename, revise (a new version) or archive, in one append."""
        template = await self.repository.get(Template, template_id)
        if name is not None:
            template.rename(name, actor)
        if subject is not None or body is not None:
            new_subject = subject if subject is not None else template.subject
            template.revise(new_subject, body if body is not None else template.body, actor)
        if archived:
            template.archive(actor)
        return template, await self.repository.save(template)

    async def preview(
        self,
        *,
        template_id: UUID | None = None,
        kind: TemplateKind | None = None,
        channel: Channel | None = None,
        subject: str | None = None,
        body: str | None = None,
        optin_id: UUID | None = None,
        variables: Mapping[str, str] | None = None,
        fill_missing: bool = False,
    ) -> Preview:
        """A saved template (`template_id`) or a draft (`kind`, `channel`, `body`, `subject`) as it
        would be sent: sample values for the ledger's own variables, SMS length and segments."""
        if template_id is not None:
            saved = await self.repository.get(Template, template_id)
            kind, channel, subject, body = saved.kind, saved.channel, saved.subject, saved.body
        elif kind is None or channel is None or body is None:
            raise InvalidValueError("give a template_id, or a draft's kind, channel and body")
        problems = []
        try:
            check_content(kind, channel, subject, body)
        except DomainError as e:
            problems.append(str(e))
        program = await self.repository.find(Program, optin_id) if optin_id else None
        values = {**self._samples(program), **(variables or {})}
        missing = [name for name in placeholders((subject or "") + "\n" + body) if name not in values]
        if fill_missing:
            values |= {name: f"[{name}]" for name in missing}
        return Preview(rendered=render(channel, subject, body, values), missing=missing, problems=problems)

    def _samples(self, program: Program | None) -> dict[str, str]:
        """Stand-ins for the variables the ledger fills in when it sends."""
        return {
            "program_name": program.name if program else "Example program",
            "disclosure": program.disclosure if program else "The disclosure text of the program.",
            "unsubscribe_url": f"{self.public_url}/u/example",
            "code": "123456",
            "expires_minutes": "10",
        }
