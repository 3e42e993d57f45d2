"""The last enabled admin, under concurrency, on real PostgreSQL: two admins disabling or demoting
each other at the same moment leave one of them enabled.

The race is made certain rather than lucky: the admin directory answers slowly, so without the
lock both checks would run before either change is written. The control case (a lock that does
not lock) shows that the scenario does race, and ends with no admin at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from nacl.pwhash.argon2id import MEMLIMIT_MIN, OPSLIMIT_MIN

from adapters.postgres.locks import PostgresLocks
from adapters.settings import Settings
from api.auth.passwords import PasswordHasher
from api.composition import Components, compose
from ledger.errors import InvalidCommandError
from ledger.ports import AdminDirectory, Locks
from ledger.user import User
from ledger.vocabulary import SYSTEM, Actor

pytestmark = pytest.mark.integration
PASSWORD = "pelican-quartz-meadow-9"


class SlowDirectory:
    """The real admin directory, answering only after a pause: both checks overlap."""

    def __init__(self, directory: AdminDirectory) -> None:
        self.directory = directory

    async def admin_ids(self) -> list[UUID]:
        found = await self.directory.admin_ids()
        await asyncio.sleep(0.2)
        return found


class NoLock:
    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        yield


@pytest.fixture
async def parts(database_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Components]:
    settings = Settings(
        database_url=database_url, data_dir=tmp_path, index_key=b"i" * 32, token_key=b"t" * 32, kek=b"k" * 32
    )
    built = compose(settings, pool, follow=False, hasher=PasswordHasher(OPSLIMIT_MIN, MEMLIMIT_MIN))
    built.accounts.admins = SlowDirectory(built.directory)
    yield built
    await built.close()


async def two_admins(parts: Components, tag: str) -> tuple[UUID, UUID]:
    made = []
    for n in range(2):
        user, _ = await parts.accounts.create(
            email=f"admin-{tag}-{n}@staff.example.org", role="admin", password=PASSWORD, actor=SYSTEM
        )
        made.append(user.id)
    return made[0], made[1]


def as_user(user_id: UUID) -> Actor:
    return Actor(kind="user", id=str(user_id))


async def enabled_admins(parts: Components, ids: tuple[UUID, UUID]) -> int:
    users = [await parts.repository.get(User, i) for i in ids]
    return sum(u.role == "admin" and not u.disabled for u in users)


async def each_takes_the_other_away(parts: Components, a: UUID, b: UUID, how: dict[str, Any]) -> list[Any]:
    outcomes = await asyncio.gather(
        parts.accounts.change(b, actor=as_user(a), **how),
        parts.accounts.change(a, actor=as_user(b), **how),
        return_exceptions=True,
    )
    return list(outcomes)


@pytest.mark.parametrize("how", [{"disabled": True}, {"role": "staff"}], ids=["disable", "demote"])
async def test_two_admins_taking_each_other_away_at_once_leave_one_enabled(
    parts: Components, how: dict[str, Any]
) -> None:
    assert isinstance(parts.accounts.locks, PostgresLocks)
    a, b = await two_admins(parts, "locked")
    outcomes = await each_takes_the_other_away(parts, a, b, how)
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(refused) == 1, outcomes
    assert isinstance(refused[0], InvalidCommandError)
    assert "last enabled admin" in str(refused[0])
    assert await enabled_admins(parts, (a, b)) == 1


async def test_without_the_lock_the_same_race_leaves_no_admin(parts: Components) -> None:
    """The control: what the lock prevents does happen without it. Both changes are let write
    only once both have checked (a barrier), so the race happens every time, whatever the load."""
    unlocked: Locks = NoLock()
    parts.accounts.locks = unlocked
    a, b = await two_admins(parts, "unlocked")
    both_checked, write = asyncio.Barrier(2), parts.accounts._update

    async def after_both_checked(*args: Any, **kwargs: Any) -> Any:
        await both_checked.wait()
        return await write(*args, **kwargs)

    parts.accounts._update = after_both_checked  # type: ignore[method-assign]
    outcomes = await each_takes_the_other_away(parts, a, b, {"disabled": True})
    assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
    assert await enabled_admins(parts, (a, b)) == 0


async def test_an_admin_cannot_take_their_own_rights_away(parts: Components) -> None:
    a, _ = await two_admins(parts, "self")
    with pytest.raises(InvalidCommandError, match="your own account"):
        await parts.accounts.change(a, actor=as_user(a), disabled=True)
    with pytest.raises(InvalidCommandError, match="your own account"):
        await parts.accounts.change(a, actor=as_user(a), role="auditor")
