"""`import FILE [--dry-run]`: a consent import from the command line, with a progress bar."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from adapters.import_workers import Parallel
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import settings_pool
from api.commands.runtime import prepare
from api.composition import compose
from ledger.application.imports import ImportReport
from ledger.application.imports import Progress as Advance
from ledger.vocabulary import Actor

CLI = Actor(kind="system", id="import-command")


@contextmanager
def progress_bar(console: Console) -> Iterator[Callable[[str, int | None], Advance]]:
    """`phase(name, total)` → a callback advancing that phase's bar by n rows."""
    with Progress(
        TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    ) as bar:  # fmt: skip

        def phase(name: str, total: int | None) -> Advance:
            task = bar.add_task(name, total=total)
            return lambda n: bar.advance(task, n)

        yield phase


def print_report(report: ImportReport, console: Console, dry_run: bool) -> None:
    if not report.valid:
        console.print(f"[red]{report.problem_count} bad rows; nothing was changed[/red]")
        for problem in report.problems:
            console.print(f"  line {problem.line}: {problem.message}")
        if report.problem_count > len(report.problems):
            console.print(f"  … and {report.problem_count - len(report.problems)} more")
        return
    verb = "would be" if dry_run else "were"
    console.print(f"{report.rows} rows ({report.format}); outcomes that {verb} recorded:")
    for outcome, count in sorted(report.outcomes.items()):
        console.print(f"  {outcome:>18}: {count}")
    if report.position is not None:
        console.print(f"ledger position {report.position}")


def run_import(path: Path, dry_run: bool, data_dir: Path | None, workers: int = 2) -> int:
    if not path.is_file():
        print(f"optin-ledger: no such file: {path}")
        return 2
    settings = prepare(data_dir)
    assert settings.database_url
    dsn = settings.database_url
    console = Console(stderr=True)

    async def run() -> ImportReport:
        await migrate(dsn)
        pool = await settings_pool(settings, min_size=1, max_size=8)
        parts = compose(settings, pool, follow=False)
        try:
            with progress_bar(console) as phase:
                return await parts.imports.run(
                    path, CLI, dry_run=dry_run, progress=phase,
                    parallel=Parallel(dsn, settings.db_role, None, max(1, workers)),
                )  # fmt: skip
        finally:
            await parts.close()
            await pool.close()

    report = asyncio.run(run())
    print_report(report, Console(), dry_run)
    return 0 if report.valid else 1
