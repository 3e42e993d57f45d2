"""Rebuilds on real PostgreSQL: into tables of other names, and a rebuild that dies half-way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import pytest

from adapters.postgres.event_store import PostgresEventStore
from ledger.codec import LedgerMapper
from ledger.program import new_program
from ledger.repository import Repository
from ledger.vocabulary import SYSTEM
from projections.programs import ProgramsProjection, ProgramsRebuild
from projections.projection import Envelope, Write
from projections.runner import ProjectionRunner

pytestmark = pytest.mark.integration


async def programs(store: PostgresEventStore, n: int) -> None:
    """`n` programs of five events each, appended in an order that interleaves them."""
    repo = Repository(store)
    made = []
    for i in range(n):
        program = new_program(
            name=f"P{i}",
            description="",
            purpose="marketing",
            channels=("email",),
            disclosure=f"d{i}",
            actor=SYSTEM,
        )
        await repo.save(program)
        made.append(program)
    for program in made:
        program.rename(f"P{program.name} renamed", SYSTEM)
        program.change_disclosure(f"{program.disclosure} v2", SYSTEM)
        await repo.save(program)
    for program in made[::2]:
        program.set_channels(("email", "sms"), SYSTEM)
        program.archive(SYSTEM)
        await repo.save(program)


DISCLOSURE_ORDER = "optin_id, version"


async def table(conn: asyncpg.Pool | asyncpg.Connection, name: str, order: str) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(f"SELECT * FROM {name} ORDER BY {order}")]


async def read_model(pool: asyncpg.Pool) -> tuple[list[dict[str, Any]], ...]:
    return await table(pool, "optins", "id"), await table(pool, "optin_disclosures", DISCLOSURE_ORDER)


async def test_a_rebuild_writes_into_the_tables_it_is_given(
    pool: asyncpg.Pool, store: PostgresEventStore, database_url: str
) -> None:
    """The shape a rebuild into fresh tables (swapped in afterwards) needs: same rows as live."""
    await programs(store, 30)
    projection = ProgramsProjection()
    await ProjectionRunner(pool, [projection]).catch_up(projection)
    owner = await asyncpg.connect(database_url)
    try:
        for name in ("optins", "optin_disclosures"):
            await owner.execute(f"CREATE TABLE {name}_next (LIKE {name} INCLUDING ALL)")
        rebuild = projection.rebuilder(
            {"optins": "optins_next", "optin_disclosures": "optin_disclosures_next"}
        )
        mapper = LedgerMapper()
        events = await store.read_after(0, 10_000)
        for start in range(0, len(events), 16):  # programs span batches
            batch = [
                Envelope(e[0], e.recorded_at, e.topic, mapper.decode(e.topic, e[1], e[2], e.state))
                for e in events[start : start + 16]
            ]
            if (write := rebuild.fold(batch)) is not None:
                await write(owner)
        if (write := rebuild.finish()) is not None:
            await write(owner)
        assert await table(owner, "optins_next", "id") == await table(owner, "optins", "id")
        assert len(await table(owner, "optins_next", "id")) == 30
        order = "optin_id, version"
        assert await table(owner, "optin_disclosures_next", order) == await table(
            owner, "optin_disclosures", order
        )
    finally:
        await owner.close()


class Killed(Exception):
    pass


class DiesHalfWay(ProgramsProjection):
    """The programs projection, whose rebuild dies at its third batch."""

    def rebuilder(self, tables: Mapping[str, str]) -> ProgramsRebuild:
        rebuild = super().rebuilder(tables)
        folds = 0
        fold = rebuild.fold

        def dying(batch: Sequence[Envelope]) -> Write | None:
            nonlocal folds
            folds += 1
            if folds == 3:
                raise Killed
            return fold(batch)

        rebuild.fold = dying  # type: ignore[method-assign]
        return rebuild


async def test_a_rebuild_that_dies_half_way_leaves_the_read_model_and_its_position(
    pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    await programs(store, 20)
    live = ProgramsProjection()
    runner = ProjectionRunner(pool, [live], batch_size=10)
    await runner.catch_up(live)
    before = await read_model(pool)
    position = await pool.fetchval("SELECT position FROM projection_tracking WHERE name = 'optins'")

    with pytest.raises(Killed):
        await ProjectionRunner(pool, [DiesHalfWay()], batch_size=10).rebuild(DiesHalfWay())
    assert await read_model(pool) == before
    assert await pool.fetchval("SELECT position FROM projection_tracking WHERE name = 'optins'") == position

    assert await runner.rebuild(live) == position  # and starts again from zero
    assert (
        await table(pool, "optins", "id"),
        await table(pool, "optin_disclosures", "optin_id, version"),
    ) == before
