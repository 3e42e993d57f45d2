"""Opt-in programs: create, list, read, change (name, description, channels, disclosure), archive."""

from __future__ import annotations

import builtins
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.postgres.replica import ReadDatabase
from api.answers import written
from api.auth.guards import allow
from api.dependencies import components
from ledger.application.programs import Programs
from ledger.program import Program
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
    tags = ("programs",)
    dependencies = components("programs")

    @post("/", guards=[allow("staff")], summary="Create a program")
    async def create(
        self, data: JSONBody[NewProgram], programs: NamedDependency[Programs], actor: NamedDependency[Actor]
    ) -> Response[read.ProgramRow]:
        program, position = await programs.create(
            name=data.name,
            description=data.description,
            purpose=data.purpose,
            channels=data.channels,
            disclosure=data.disclosure,
            actor=actor,
        )
        return written(_program(program), position, 201)

    @get("/", guards=[allow("staff", "service", "auditor")], summary="List programs")
    async def list(
        self,
        read_db: NamedDependency[ReadDatabase],
        include_archived: Annotated[bool, QueryParameter()] = False,
    ) -> list[read.ProgramRow]:
        return await read.list_programs(read_db, include_archived=include_archived)

    @get("/{optin_id:uuid}", guards=[allow("staff", "service", "auditor")], summary="One program")
    async def get_one(
        self,
        optin_id: FromPath[UUID],
        read_db: NamedDependency[ReadDatabase],
    ) -> read.ProgramRow:
        row = await read.get_program(read_db, optin_id)
        if row is None:
            raise NotFoundException(f"no program with id {optin_id}")
        return row

    @get(
        "/{optin_id:uuid}/disclosures",
        guards=[allow("staff", "service", "auditor")],
        summary="Every version of a program's disclosure text",
        description="Oldest first: each version's exact text, its SHA-256 (what consent evidence "
        "names), when it was published and when the next version replaced it.",
    )
    async def disclosures(
        self,
        optin_id: FromPath[UUID],
        read_db: NamedDependency[ReadDatabase],
    ) -> builtins.list[read.DisclosureVersion]:
        history = await read.disclosure_history(read_db, optin_id)
        if not history:
            raise NotFoundException(f"no program with id {optin_id}")
        return history

    @patch("/{optin_id:uuid}", guards=[allow("staff")], summary="Change or archive a program")
    async def change(
        self,
        optin_id: FromPath[UUID],
        data: JSONBody[ProgramChange],
        programs: NamedDependency[Programs],
        actor: NamedDependency[Actor],
    ) -> Response[read.ProgramRow]:
        program, position = await programs.change(
            optin_id,
            actor=actor,
            name=data.name,
            description=data.description,
            channels=data.channels,
            disclosure=data.disclosure,
            archived=data.archived,
        )
        return written(_program(program), position, 200)
