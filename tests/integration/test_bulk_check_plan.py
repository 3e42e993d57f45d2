"""The bulk consent check keeps a sound plan once PostgreSQL caches a generic one.

After five runs of a prepared statement on a connection, PostgreSQL may plan it once for any
parameters. For the bulk check it then estimated ten items and probed `consent_state_program`
once per item, reading the whole program each time (45 ms instead of 5 for 1,000 items). The
query must not leave that index open to such a plan.
"""

from __future__ import annotations

import secrets
import uuid

import asyncpg
import pytest

from projections import consent_state

pytestmark = pytest.mark.integration

_NO_INDEXES = "array_fill(NULL::bytea, ARRAY[1000]), "


async def test_the_generic_plan_of_a_bulk_check_never_probes_the_program_index(pool: asyncpg.Pool) -> None:
    program = uuid.uuid4()
    rows = [(uuid.uuid4(), program, "email", "opted_out", 1) for _ in range(2000)]
    await pool.executemany(
        "INSERT INTO consent_state VALUES ($1, $2, $3, $4, now(), $5, 'consent.withdrawn', NULL, $5)", rows
    )
    await pool.execute("ANALYZE consent_state")
    async with pool.acquire() as conn:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        contacts = [r[0] for r in rows[:1000]]
        ids = ",".join(f"'{c}'" for c in contacts)  # EXPLAIN EXECUTE takes no bound parameters
        queries = (  # items all by contact id, or some by address (blind index)
            ("by_id", "uuid[], uuid[], text[], uuid, text", consent_state._BY_ID, ""),
            ("many", "uuid[], bytea[], uuid[], text[], uuid, text", consent_state._MANY, _NO_INDEXES),
        )
        for name, types, query, indexes in queries:
            await conn.execute(f"PREPARE {name}({types}) AS {query}")
            for programs, channels, shared in (  # the program and channel per item, or shared
                (
                    f"array_fill('{program}'::uuid, ARRAY[1000])",
                    "array_fill('email'::text, ARRAY[1000])",
                    "NULL, NULL",
                ),
                ("'{}'", "'{}'", f"'{program}', 'email'"),
            ):
                plan = await conn.fetch(
                    f"EXPLAIN EXECUTE {name}(ARRAY[{ids}]::uuid[], {indexes}{programs}, {channels}, {shared})"
                )
                text = "\n".join(r[0] for r in plan)
                assert "consent_state_program" not in text, (name, text)
            await conn.execute(f"DEALLOCATE {name}")
        await conn.execute("RESET plan_cache_mode")
    answers = await consent_state.check_many(
        pool, contacts, [None] * 1000, [program] * 1000, ["email"] * 1000
    )
    assert {d.status for d in answers.decisions} == {"opted_out"}


async def test_items_of_several_programs_channels_and_kinds_are_each_answered_as_alone(
    pool: asyncpg.Pool,
) -> None:
    """A shared program and channel travel once; mixed ones, and addresses, per item: either
    way each item gets the answer a check of it alone gets."""
    programs = [uuid.uuid4(), uuid.uuid4()]
    contacts = [uuid.uuid4() for _ in range(6)]
    statuses = ["opted_in", "opted_out"]
    await pool.executemany(
        "INSERT INTO consent_state VALUES ($1, $2, $3, $4, now(), $5, 'consent.granted', NULL, $5)",
        [
            (c, p, ch, statuses[(n + m) % 2], n + 1)
            for n, c in enumerate(contacts)
            for m, (p, ch) in enumerate([(programs[0], "email"), (programs[1], "sms")])
        ],
    )
    index = secrets.token_bytes(32)
    await pool.execute(
        "INSERT INTO contact_lookup (blind_index, contact_id) VALUES ($1, $2)", index, contacts[5]
    )
    cases: list[tuple[list[uuid.UUID | None], list[bytes | None], list[uuid.UUID], list[str]]] = [
        (list(contacts), [None] * 6, [programs[0]] * 6, ["email"] * 6),  # all shared
        (list(contacts), [None] * 6, [programs[n % 2] for n in range(6)], ["email", "sms"] * 3),
        ([*contacts[:5], None], [None] * 5 + [index], [programs[1]] * 6, ["sms"] * 6),  # an address
    ]
    for ids, indexes, optins, channels in cases:
        answers = await consent_state.check_many(pool, ids, indexes, optins, channels)
        for n, answer in enumerate(zip(answers.contact_ids, answers.decisions, strict=True)):
            alone = await consent_state.consent_of(pool, contacts[n], optins[n], channels[n])
            assert answer == (contacts[n], alone), (n, ids, channels)
