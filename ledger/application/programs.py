"""Opt-in programs: create one, and change its name, description, channels or disclosure text
(a new text is a new disclosure version), or archive it."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from ledger.program import Program, new_program
from ledger.repository import Repository
from ledger.vocabulary import Actor, Channel, Purpose


class Programs:
    def __init__(self, repository: Repository) -> None:
        self.repository = repository

    async def create(
        self,
        *,
        name: str,
        description: str,
        purpose: Purpose,
        channels: Sequence[Channel],
        disclosure: str,
        actor: Actor,
    ) -> tuple[Program, int]:
        program = new_program(
            name=name,
            description=description,
            purpose=purpose,
            channels=tuple(channels),
            disclosure=disclosure,
            actor=actor,
        )
        return program, await self.repository.save(program)

    async def change(
        self,
        optin_id: UUID,
        *,
        actor: Actor,
        name: str | None = None,
        description: str | None = None,
        channels: Sequence[Channel] | None = None,
        disclosure: str | None = None,
        archived: bool | None = None,
    ) -> tuple[Program, int]:
        """Apply the fields given, in one append."""
        program = await self.repository.get(Program, optin_id)
        if name is not None:
            program.rename(name, actor)
        if description is not None:
            program.describe(description, actor)
        if channels is not None:
            program.set_channels(tuple(channels), actor)
        if disclosure is not None:
            program.change_disclosure(disclosure, actor)
        if archived:
            program.archive(actor)
        return program, await self.repository.save(program)
