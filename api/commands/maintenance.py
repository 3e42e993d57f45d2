"""`retention run` and `outbox`: operator commands that work on the running ledger."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path

from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.postgres.dev_outbox import dev_messages
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool
from api.commands.runtime import prepare
from api.composition import compose
from ledger.application.retention import RetentionReport


def retention(data_dir: Path | None, dry_run: bool) -> int:
    settings = prepare(data_dir)
    assert settings.database_url
    dsn = settings.database_url

    async def run() -> RetentionReport:
        await migrate(dsn)
        pool = await create_pool(dsn, role=settings.db_role, min_size=1, max_size=4)
        parts = compose(settings, pool, follow=False)
        try:
            return await parts.retention.run(timedelta(days=settings.retention_days), dry_run=dry_run)
        finally:
            await parts.close()
            await pool.close()

    report = asyncio.run(run())
    verb = "would erase" if dry_run else "erased"
    print(f"{verb} {len(report.erased)} contact(s) idle for {settings.retention_days} days without consent")
    for contact_id in report.erased:
        print(f"  contact {contact_id}")
    verb = "would close" if dry_run else "closed"
    print(f"{verb} {len(report.expired_codes)} expired code(s)")
    if not dry_run:
        print(f"forgot {report.forgotten_hits} rate-limit hit(s) no window counts any more")
    return 0


def show_outbox(data_dir: Path | None, follow: bool) -> int:
    """What the dev sender would have sent, codes included (dev only: bodies are opened here)."""
    settings = prepare(data_dir)
    assert settings.database_url
    assert settings.kek
    assert settings.index_key
    dsn, kek, sealer = settings.database_url, settings.kek, NaclSealer(settings.index_key)
    if not settings.demo:
        print("note: this shows message bodies in clear; it is meant for development only")

    async def run() -> None:
        pool = await create_pool(dsn, role=settings.db_role, min_size=1, max_size=2)
        keys, seen = PostgresDataKeys(pool, kek), set()
        try:
            while True:
                rows = list(reversed(await dev_messages(pool, None, 50)))
                for row in (r for r in rows if r["id"] not in seen):
                    seen.add(row["id"])
                    masked = await pool.fetchval(
                        "SELECT masked_address FROM contacts WHERE id = $1", row["contact_id"]
                    )
                    key = await keys.get(row["contact_id"])
                    body = sealer.open(key, row["sealed_body"])
                    subject = sealer.open(key, row["sealed_subject"]) if row["sealed_subject"] else None
                    stamp = row["created_at"].isoformat(timespec="seconds")
                    print(f"{stamp}  {row['channel']:5}  {masked or '(erased)'}  {row['kind']}")
                    if subject:
                        print(f"    Subject: {subject}")
                    for line in (body or "(erased)").splitlines():
                        print(f"    {line}")
                    if row["unsubscribe"]:
                        print(f"    List-Unsubscribe: <{row['unsubscribe']}>")
                if not follow:
                    return
                await asyncio.sleep(1)
        finally:
            await pool.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0
