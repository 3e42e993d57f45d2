"""`backup --to FILE` and `restore --from FILE`: logical backup, verified restore.

A restore reads the erasure log first and refuses to run when it cannot (a restore without it
would bring back everyone erased since the backup), verifies the file's hash chain before
writing, refuses a database that already holds a ledger, loads events, keys and credentials,
erases again every contact the erasure log names (it lives outside the database, so an old
backup cannot bring an erased contact back), rebuilds every projection, and checks the chain
once more in the database.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adapters.erasure_log import erasure_log
from adapters.postgres.backup import BackupHeader, load_backup, write_backup
from adapters.postgres.event_store import read_after
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool
from adapters.settings import Settings
from api.commands.runtime import prepare
from api.composition import compose
from ledger.chain import ChainRecord, first_break
from ledger.vocabulary import Actor
from projections.catalog import all_projections
from projections.runner import ProjectionRunner

RESTORE = Actor(kind="system", id="restore")


@dataclass(frozen=True, slots=True)
class Restored:
    header: BackupHeader
    erased_again: int
    events_after: int


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())


async def restore_into(settings: Settings, source: Path, bar: Progress | None = None) -> Restored:
    assert settings.database_url
    assert settings.kek
    assert settings.index_key
    dsn = settings.database_url
    erasures = erasure_log(settings.erasure_log_location)
    await erasures.erased()  # before anything is written: unreadable → ErasureLogError, no restore
    await migrate(dsn)
    pool = await create_pool(dsn, role=settings.db_role, min_size=1, max_size=4)
    try:
        task = bar.add_task("events", total=None) if bar else None
        async with pool.acquire() as conn:
            header = await load_backup(
                conn,
                source,
                (lambda done, total: bar.update(task, completed=done, total=total))
                if bar and task is not None
                else None,
            )
        parts = compose(settings, pool, follow=False)
        erased = await erasures.erased()
        again = sum([await parts.contacts.erase_again(contact_id, RESTORE) for contact_id in erased])
        runner = ProjectionRunner(pool, all_projections(settings), batch_size=5000)
        for projection in runner.projections.values():
            await runner.rebuild(projection)
        rows = await read_after(pool, 0, 10_000_000)
        broken = first_break(
            (
                ChainRecord(
                    r.notification_id, r.originator_id, r.originator_version, r.topic, r.state, r.recorded_at
                ),
                r.hash,
            )
            for r in rows
        )
        if broken is not None:
            raise RuntimeError(f"the restored chain breaks at {broken.notification_id}: {broken.reason}")
        await parts.close()
        return Restored(header, again, len(rows))
    finally:
        await pool.close()


def backup(target: Path, data_dir: Path | None) -> int:
    settings = prepare(data_dir)
    assert settings.database_url
    dsn = settings.database_url

    async def run() -> BackupHeader:
        await migrate(dsn)
        pool = await create_pool(dsn, role=settings.db_role, min_size=1, max_size=2)
        try:
            with _bar() as bar:
                task = bar.add_task("events", total=None)
                return await write_backup(pool, target, lambda d, t: bar.update(task, completed=d, total=t))
        finally:
            await pool.close()

    header = asyncio.run(run())
    counts = ", ".join(f"{n} {table}" for table, n in header.counts.items())
    print(f"backed up {header.position} events (head {header.head_hash[:16]}…) and {counts} to {target}")
    print(
        "keep it encrypted at rest: it holds wrapped data keys (useless without the KEK) and password hashes"
    )
    return 0


def restore(source: Path, data_dir: Path | None) -> int:
    settings = prepare(data_dir)

    async def run() -> Restored:
        with _bar() as bar:
            return await restore_into(settings, source, bar)

    restored = asyncio.run(run())
    print(
        f"restored {restored.header.position} events; erased again {restored.erased_again} contact(s) "
        f"from the erasure log; projections rebuilt; chain verified over {restored.events_after} events"
    )
    return 0
