"""The bulk consent check keeps a sound plan once PostgreSQL caches a generic one.

After five runs of a prepared statement on a connection, PostgreSQL may plan it once for any
parameters. For the bulk check it then estimated ten items and probed `consent_state_program`
once per item, reading the whole program each time (45 ms instead of 5 for 1,000 items). The
query must not leave that index open to such a plan.
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from projections import consent_state

pytestmark = pytest.mark.integration


async def test_the_generic_plan_of_a_bulk_check_never_probes_the_program_index(pool: asyncpg.Pool) -> None:
    program = uuid.uuid4()
    rows = [(uuid.uuid4(), program, "email", "opted_out", 1) for _ in range(2000)]
    await pool.executemany(
        "INSERT INTO consent_state VALUES ($1, $2, $3, $4, now(), $5, 'consent.withdrawn', NULL, $5)", rows
    )
    await pool.execute("ANALYZE consent_state")
    async with pool.acquire() as conn:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE bulk(uuid[], bytea[], uuid[], text[]) AS {consent_state._MANY}")
        contacts = [r[0] for r in rows[:1000]]
        ids = ",".join(f"'{c}'" for c in contacts)  # EXPLAIN EXECUTE takes no bound parameters
        plan = await conn.fetch(
            f"EXPLAIN EXECUTE bulk(ARRAY[{ids}]::uuid[], array_fill(NULL::bytea, ARRAY[1000]), "
            f"array_fill('{program}'::uuid, ARRAY[1000]), array_fill('email'::text, ARRAY[1000]))"
        )
        await conn.execute("DEALLOCATE bulk")
        await conn.execute("RESET plan_cache_mode")
    text = "\n".join(r[0] for r in plan)
    assert "consent_state_program" not in text, text
    answers = await consent_state.check_many(
        pool, contacts, [None] * 1000, [program] * 1000, ["email"] * 1000
    )
    assert {a.decision.status for a in answers} == {"opted_out"}
