"""`keys rotate`: re-wrap every contact data key under a new key-encryption key (KEK).

Events are untouched (they are sealed with the data keys, which do not change). The new KEK comes
from `OPTIN_NEW_KEK` (base64, 32 bytes) or is generated with `--generate` and printed once; in the
embedded demo the data directory's `secrets.env` is updated too. Re-running is harmless.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from pathlib import Path

from adapters.crypto.data_keys import kek_id, rewrap_all
from adapters.postgres.migrations import migrate
from adapters.postgres.pool import create_pool
from adapters.settings import SettingsError, read_dotenv
from api.commands.runtime import prepare


def rotate(data_dir: Path | None, generate: bool) -> int:
    settings = prepare(data_dir)
    assert settings.database_url
    assert settings.kek
    raw = os.environ.get("OPTIN_NEW_KEK")
    if generate == bool(raw):
        raise SettingsError("give the new KEK in OPTIN_NEW_KEK, or pass --generate (not both)")
    new_kek = secrets.token_bytes(32) if generate else base64.b64decode(raw or "", validate=True)
    if len(new_kek) != 32:
        raise SettingsError("OPTIN_NEW_KEK must decode to 32 bytes")
    dsn, old_kek = settings.database_url, settings.kek

    async def run() -> int:
        await migrate(dsn)
        pool = await create_pool(dsn, role=settings.db_role, min_size=1, max_size=2)
        try:
            return await rewrap_all(pool, old_kek, new_kek)
        finally:
            await pool.close()

    count = asyncio.run(run())
    encoded = base64.b64encode(new_kek).decode()
    print(f"re-wrapped {count} data key(s): KEK {kek_id(old_kek)} -> {kek_id(new_kek)}")
    if settings.demo:
        path = settings.data_dir / "secrets.env"
        values = read_dotenv(path)
        values["OPTIN_KEK"] = encoded
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        print(f"updated OPTIN_KEK in {path}")
    elif generate:
        print(f"new OPTIN_KEK (shown once; set it before the next start): {encoded}")
    else:
        print("set OPTIN_KEK to the value of OPTIN_NEW_KEK before the next start")
    return 0
