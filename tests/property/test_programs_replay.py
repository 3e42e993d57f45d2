"""Replay is deterministic: for any command sequence, the live read model, a rebuild from zero,
and a fold of the events (the aggregates loaded from the store) all agree."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.postgres.event_store import PostgresEventStore
from ledger.errors import DomainError
from ledger.program import Program, new_program
from ledger.repository import Repository
from ledger.vocabulary import Actor
from projections.programs import ProgramsProjection
from projections.runner import ProjectionRunner

pytestmark = pytest.mark.integration

ACTOR = Actor(kind="user", id="prop")
texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=30)
channels = st.lists(st.sampled_from(["email", "sms"]), min_size=1, max_size=2, unique=True)
command = st.one_of(
    st.tuples(st.just("rename"), texts),
    st.tuples(st.just("describe"), texts),
    st.tuples(st.just("set_channels"), channels.map(tuple)),
    st.tuples(st.just("change_disclosure"), texts),
    st.tuples(st.just("archive"), st.none()),
)
scripts = st.lists(st.tuples(st.integers(0, 2), command), min_size=1, max_size=25)


async def read_model(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch("SELECT * FROM optins ORDER BY id")
    disclosures = await pool.fetch("SELECT * FROM optin_disclosures ORDER BY optin_id, version")
    return [dict(r) for r in rows] + [dict(r) for r in disclosures]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=scripts)
async def test_live_rebuilt_and_folded_read_models_agree(
    pool: asyncpg.Pool, store: PostgresEventStore, script: list[tuple[int, tuple[str, Any]]]
) -> None:
    repo = Repository(store)
    ids: list[uuid.UUID] = []
    for n in range(3):
        program = new_program(
            name=f"P{n}",
            description="",
            purpose="marketing",
            channels=("email",),
            disclosure=f"d{n}",
            actor=ACTOR,
        )
        await repo.save(program)
        ids.append(program.id)
    for target, (name, arg) in script:
        program = await repo.get(Program, ids[target])
        try:
            getattr(program, name)(*(() if arg is None else (arg,)), ACTOR)
        except DomainError:
            continue
        await repo.save(program)

    projection = ProgramsProjection()
    runner = ProjectionRunner(pool, [projection], batch_size=7)
    await runner.catch_up(projection)
    live = await read_model(pool)
    await runner.rebuild(projection)
    assert await read_model(pool) == live

    for program_id in ids:
        folded = await repo.get(Program, program_id)
        row = await pool.fetchrow("SELECT * FROM optins WHERE id = $1", program_id)
        assert row is not None
        assert (row["name"], row["description"], tuple(row["channels"])) == (
            folded.name,
            folded.description,
            folded.channels,
        )
        assert (row["disclosure"], row["disclosure_version"], row["archived"]) == (
            folded.disclosure,
            folded.disclosure_version,
            folded.archived,
        )
        assert row["version"] == folded.version
