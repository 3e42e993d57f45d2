"""Read a one-time code the way a contact would receive it: from the dev outbox, opened with the
contact's own key (the outbox keeps bodies sealed)."""

from __future__ import annotations

import asyncio
from uuid import UUID

import asyncpg

from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from projections.outbox import sealed_messages


async def latest_code(
    pool: asyncpg.Pool, kek: bytes, index_key: bytes, contact_id: UUID | str, *, after: int = 0
) -> str:
    """The newest code sent to the contact, waiting (≤ 15 s) for the outbox to show it."""
    contact_id = UUID(str(contact_id))
    key = await PostgresDataKeys(pool, kek).get(contact_id)
    for _ in range(750):
        rows = [r for r in await sealed_messages(pool, contact_id) if r["kind"] == "verification_code"]
        if len(rows) > after:
            body = NaclSealer(index_key).open(key, rows[0]["sealed_body"])
            assert body is not None
            return body
        await asyncio.sleep(0.02)
    raise AssertionError("no code reached the outbox")


async def codes_sent(pool: asyncpg.Pool, contact_id: UUID | str) -> int:
    return len(await sealed_messages(pool, UUID(str(contact_id))))
