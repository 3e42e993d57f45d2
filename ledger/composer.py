"""Choosing a template and rendering one message from it, sealed for the ledger.

Selection: the template asked for by id, else the program's own template for the kind and
channel, else the default. The ledger fills the system variables (`program_name`, `disclosure`,
`unsubscribe_url`, `code`, `expires_minutes`); callers may not set them. What staff may see is a
preview rendered with every personal value replaced by its `[name]`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping
from typing import Protocol
from uuid import UUID

import msgspec

from ledger.default_templates import default_template
from ledger.errors import ConflictError, InvalidCommandError, InvalidValueError
from ledger.message import Sealed
from ledger.ports import Sealer
from ledger.program import Program
from ledger.rendering import Rendered, render
from ledger.repository import Repository, Streams
from ledger.template import (
    MARKETING_KINDS,
    SYSTEM_VARIABLES,
    Template,
    TemplateKind,
    default_template_id,
    program_template_id,
)
from ledger.vocabulary import Channel, Purpose

_PUBLIC_VARIABLES = frozenset({"program_name", "disclosure", "expires_minutes"})
MAX_VARIABLES = 50
MAX_VALUE = 2000


@functools.lru_cache(maxsize=256)
def _preview(channel: Channel, subject: str | None, body: str, masked: tuple[tuple[str, str], ...]) -> str:
    """What staff see of a message: the same for every message of a template with the same
    variables (no personal value is in it), so rendered once for them all."""
    shown = render(channel, subject, body, dict(masked))
    return shown.text if shown.subject is None else f"Subject: {shown.subject}\n\n{shown.text}"


class UnsubscribeLinks(Protocol):
    """Signed links that unsubscribe one contact from one program (RFC 8058 one-click)."""

    def url(self, contact_id: UUID, optin_id: UUID) -> str: ...

    def mailto(self, contact_id: UUID, optin_id: UUID) -> str | None: ...


class Composition(msgspec.Struct, frozen=True, kw_only=True):
    rendered: Rendered
    sealed: Sealed
    preview: str
    list_unsubscribe: bool


def check_variables(variables: Mapping[str, str]) -> None:
    reserved = sorted(set(variables) & SYSTEM_VARIABLES)
    if reserved:
        raise InvalidValueError("these variables are filled in by the ledger: " + ", ".join(reserved))
    if len(variables) > MAX_VARIABLES or any(len(v) > MAX_VALUE for v in variables.values()):
        raise InvalidValueError(f"at most {MAX_VARIABLES} variables of at most {MAX_VALUE} characters each")


class Composer:
    def __init__(self, repository: Repository, sealer: Sealer, links: UnsubscribeLinks) -> None:
        self.repository = repository
        self.sealer = sealer
        self.links = links

    def template_streams(
        self, kind: TemplateKind, channel: Channel, optin_id: UUID | None, template_id: UUID | None = None
    ) -> list[UUID]:
        """The streams `select` chooses from: the template asked for, else the program's own
        template and the default (read together: one read whichever is chosen)."""
        if template_id is not None:
            return [template_id]
        own = [program_template_id(optin_id, kind, channel)] if optin_id is not None else []
        return [*own, default_template_id(kind, channel)]

    async def select(
        self,
        kind: TemplateKind,
        channel: Channel,
        optin_id: UUID | None,
        template_id: UUID | None = None,
        read: Streams | None = None,
    ) -> Template:
        """`read`: streams the caller has just read, `template_streams` among them."""
        if read is None:
            read = await self.repository.read(*self.template_streams(kind, channel, optin_id, template_id))
        if template_id is not None:
            chosen = read.get(Template, template_id)
            if chosen.archived:
                raise InvalidCommandError("the template is archived")
            if chosen.channel != channel:
                raise InvalidValueError(f"the template is for {chosen.channel}, the contact is on {channel}")
            if chosen.optin_id is not None and chosen.optin_id != optin_id:
                raise InvalidValueError("the template belongs to another program")
            return chosen
        if optin_id is not None:
            own = read.find(Template, program_template_id(optin_id, kind, channel))
            if own is not None and not own.archived:
                return own
        found = read.find(Template, default_template_id(kind, channel))
        if found is None:  # before the start-up step recorded the defaults: record this one now
            with contextlib.suppress(ConflictError):
                await self.repository.save(default_template(kind, channel))
            found = await self.repository.get(Template, default_template_id(kind, channel))
        return found

    def system_variables(self, contact_id: UUID, channel: Channel, program: Program | None) -> dict[str, str]:
        if program is None:
            return {}
        found = {"program_name": program.name, "disclosure": program.disclosure}
        if channel == "email":
            found["unsubscribe_url"] = self.links.url(contact_id, program.id)
        return found

    def compose(
        self,
        template: Template,
        *,
        key: bytes,
        purpose: Purpose,
        variables: Mapping[str, str],
        system: Mapping[str, str],
        suffix: str = "",
    ) -> Composition:
        """Render with the caller's and the ledger's variables; seal what is personal. `suffix`
        is rendered after the body (what the ledger adds to a reply whose template lacks it)."""
        values = {**variables, **system}
        body = template.body + suffix
        rendered = render(template.channel, template.subject, body, values)
        masked = {k: v if k in _PUBLIC_VARIABLES else f"[{k}]" for k, v in values.items()}
        preview = _preview(template.channel, template.subject, body, tuple(sorted(masked.items())))

        def seal(text: str | None) -> bytes | None:
            return None if text is None else self.sealer.seal(key, text)

        sealed = Sealed(
            text=self.sealer.seal(key, rendered.text),
            variables=self.sealer.seal(key, msgspec.json.encode(dict(variables)).decode()),
            subject=seal(rendered.subject),
            html=seal(rendered.html),
        )
        marketing = purpose == "marketing" or template.kind in MARKETING_KINDS
        unsubscribe = template.channel == "email" and marketing and "unsubscribe_url" in system
        return Composition(rendered=rendered, sealed=sealed, preview=preview, list_unsubscribe=unsubscribe)
