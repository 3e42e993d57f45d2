"""Opt-in programs: create, list, read, change (name, description, channels, disclosure), archive."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth.guards import allow, principal_of
from api.services import Services, written
from ledger.program import Program, new_program
from ledger.vocabulary import Actor, Channel, Description, DisclosureText, ProgramName, Purpose
from projections import programs as read

Channels = Annotated[list[Channel], msgspec.Meta(min_length=1, max_length=2)]


class NewProgram(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: ProgramName
    purpose: Purpose
    channels: Channels
    disclosure: DisclosureText
    description: Description = ""


class ProgramChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Only the fields given change; a new disclosure text becomes a new disclosure version."""

    name: ProgramName | None = None
    description: Description | None = None
    channels: Channels | None = None
    disclosure: DisclosureText | None = None
    archived: bool | None = None


def _program(p: Program) -> read.ProgramRow:
    """The program as a write answers it (the read model may not have caught up yet)."""
    return read.ProgramRow(
        id=p.id,
        name=p.name,
        description=p.description,
        purpose=p.purpose,
        channels=list(p.channels),
        disclosure=p.disclosure,
        disclosure_version=p.disclosure_version,
        disclosure_sha256=p.disclosure_sha256,
        archived=p.archived,
        created_at=p.created_on,
        updated_at=p.modified_on,
    )


class ProgramsController(Controller):
    path = "/v1/optins"
    tags = ["programs"]  # noqa: RUF012 (Litestar reads it as a class attribute)

    @post("/", guards=[allow("staff")], summary="Create a program")
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[NewProgram], services: NamedDependency[Services]
    ) -> Response[read.ProgramRow]:
        actor = principal_of(request).actor(request.scope.get("state", {}).get("request_id"))
        program, position = await create_program(services, data, actor)
        return written(_program(program), position, 201)

    @get("/", guards=[allow("staff", "service", "auditor")], summary="List programs")
    async def list(
        self,
        services: NamedDependency[Services],
        caught_up: NamedDependency[int | None],
        include_archived: Annotated[bool, QueryParameter()] = False,
    ) -> list[read.ProgramRow]:
        return await read.list_programs(services.pool, include_archived=include_archived)

    @get("/{optin_id:uuid}", guards=[allow("staff", "service", "auditor")], summary="One program")
    async def get_one(
        self,
        optin_id: FromPath[UUID],
        services: NamedDependency[Services],
        caught_up: NamedDependency[int | None],
    ) -> read.ProgramRow:
        row = await read.get_program(services.pool, optin_id)
        if row is None:
            raise NotFoundException(f"no program with id {optin_id}")
        return row

    @patch("/{optin_id:uuid}", guards=[allow("staff")], summary="Change or archive a program")
    async def change(
        self,
        request: Request[Any, Any, Any],
        optin_id: FromPath[UUID],
        data: JSONBody[ProgramChange],
        services: NamedDependency[Services],
    ) -> Response[read.ProgramRow]:
        actor = principal_of(request).actor(request.scope.get("state", {}).get("request_id"))
        program, position = await change_program(services, optin_id, data, actor)
        return written(_program(program), position, 200)


async def create_program(services: Services, data: NewProgram, actor: Actor) -> tuple[Program, int]:
    """Create and save a program (shared by the API and the console)."""
    program = new_program(
        name=data.name,
        description=data.description,
        purpose=data.purpose,
        channels=tuple(data.channels),
        disclosure=data.disclosure,
        actor=actor,
    )
    return program, await services.repository.save(program)


async def change_program(
    services: Services, optin_id: UUID, data: ProgramChange, actor: Actor
) -> tuple[Program, int]:
    """Apply the fields given (a new disclosure text is a new version), then save."""
    program = await services.repository.get(Program, optin_id)
    if data.name is not None:
        program.rename(data.name, actor)
    if data.description is not None:
        program.describe(data.description, actor)
    if data.channels is not None:
        program.set_channels(tuple(data.channels), actor)
    if data.disclosure is not None:
        program.change_disclosure(data.disclosure, actor)
    if data.archived:
        program.archive(actor)
    return program, await services.repository.save(program)
