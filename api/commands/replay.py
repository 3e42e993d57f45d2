"""`replay [NAME]`: rebuild read models from the ledger, with a progress bar."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool
from adapters.runtime import settle_heap
from api.commands.runtime import prepare
from projections.catalog import all_projections
from projections.runner import ProjectionRunner


def replay(name: str | None, data_dir: Path | None) -> int:
    settings = prepare(data_dir)
    assert settings.database_url
    dsn = settings.database_url
    projections = all_projections(settings)
    chosen = [p for p in projections if name in (None, p.name)]
    if not chosen:
        known = ", ".join(p.name for p in projections)
        print(f"no projection named {name!r}; known: {known}")
        return 2

    async def run() -> None:
        await migrate(dsn)
        pool = await create_pool(dsn, role=settings.db_role)
        runner = ProjectionRunner(pool, projections, batch_size=5000)
        settle_heap()
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            ) as bar:
                for projection in chosen:
                    task = bar.add_task(projection.name, total=None)
                    started = time.perf_counter()

                    def show(position: int, head: int, task: TaskID = task) -> None:
                        bar.update(task, completed=position, total=head)

                    applied = await runner.rebuild(projection, show)
                    seconds = time.perf_counter() - started
                    bar.console.print(f"{projection.name}: {applied} events applied in {seconds:.2f} s")
        finally:
            await pool.close()

    asyncio.run(run())
    return 0
