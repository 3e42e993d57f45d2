"""Account commands on real PostgreSQL: one account per email under concurrency, and the users
read model equals a rebuild from the ledger."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from nacl.pwhash.argon2id import MEMLIMIT_MIN, OPSLIMIT_MIN

from adapters.settings import Settings
from api.auth.passwords import PasswordHasher
from api.composition import Components, compose
from ledger.errors import ConflictError
from ledger.vocabulary import SYSTEM
from projections.runner import ProjectionRunner
from projections.users import UsersProjection

pytestmark = pytest.mark.integration


@pytest.fixture
async def auth(database_url: str, pool: asyncpg.Pool, tmp_path: Any) -> AsyncIterator[Components]:
    settings = Settings(
        database_url=database_url, data_dir=tmp_path, index_key=b"i" * 32, token_key=b"t" * 32, kek=b"k" * 32
    )
    parts = compose(settings, pool, follow=False, hasher=PasswordHasher(OPSLIMIT_MIN, MEMLIMIT_MIN))
    yield parts
    await parts.close()


async def test_concurrent_creations_of_one_email_make_one_account(
    auth: Components, pool: asyncpg.Pool
) -> None:
    async def create(n: int) -> object:
        return await auth.accounts.create(
            email="Same.Person@staff.example.org" if n % 2 else "same.person@STAFF.example.org",
            role="staff",
            password="pelican-quartz-meadow-9",
            actor=SYSTEM,
        )

    outcomes = await asyncio.gather(*(create(n) for n in range(10)), return_exceptions=True)
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, ConflictError) for o in outcomes if isinstance(o, BaseException))
    assert await pool.fetchval("SELECT count(*) FROM events WHERE topic = 'user.created'") == 1
    assert await pool.fetchval("SELECT count(*) FROM user_logins") == 1


async def test_live_users_read_model_equals_a_rebuild(auth: Components, pool: asyncpg.Pool) -> None:
    runner = ProjectionRunner(pool, [UsersProjection()], batch_size=3)
    projection = runner.projections["users"]
    users = []
    for n in range(4):
        user, _ = await auth.accounts.create(
            email=f"u{n}@staff.example.org", role="service", password=None, actor=SYSTEM
        )
        users.append(user.id)
        await runner.catch_up(projection)  # the live model, batch by batch
    key_id = (await auth.accounts.issue_api_key(users[0], SYSTEM)).key_id
    await auth.accounts.revoke_api_key(users[0], key_id, SYSTEM)
    await auth.accounts.issue_api_key(users[1], SYSTEM)
    await auth.accounts.change(users[2], role="auditor", disabled=True, actor=SYSTEM)
    await auth.accounts.change(users[3], password="crimson-falcon-ledger-4", actor=SYSTEM)
    await auth.accounts.record_login_failure(users[3], "wrong_password", None, SYSTEM)
    await runner.catch_up(projection)
    live = await snapshot(pool)
    await runner.rebuild(projection)
    assert await snapshot(pool) == live
    rows = {r["id"]: r for r in live["users"]}
    assert rows[users[2]]["role"] == "auditor"
    assert rows[users[2]]["disabled"] is True
    assert rows[users[3]]["password_changed_at"] is not None
    assert [k["revoked_at"] is not None for k in live["api_keys"] if k["user_id"] == users[0]] == [True]


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    return {
        table: [dict(r) for r in await pool.fetch(f"SELECT * FROM {table} ORDER BY id")]
        for table in ("users", "api_keys")
    }
