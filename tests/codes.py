"""Read a one-time code the way a contact would receive it: from the dev outbox (the dev sender's
table), opened with the contact's own key (bodies stay sealed there)."""

from __future__ import annotations

import asyncio
import re
from uuid import UUID

import asyncpg

from adapters.crypto.data_keys import PostgresDataKeys
from adapters.crypto.sealer import NaclSealer
from adapters.postgres.dev_outbox import dev_messages

# The default templates say "code is 123456" or "code 123456"; a program's own may word it otherwise.
_NAMED_CODE = re.compile(r"code(?: is)?:?\s+(\d{6})\b")
_ANY_CODE = re.compile(r"\b(\d{6})\b")
CODE_KINDS = frozenset({"verification_code", "optin_invite"})


async def latest_code(
    pool: asyncpg.Pool, kek: bytes, index_key: bytes, contact_id: UUID | str, *, after: int = 0
) -> str:
    """The newest code sent to the contact, waiting (≤ 15 s) for the outbox worker to send it.

    `after`: how many codes the contact had received before (wait for one more than that).
    """
    contact_id = UUID(str(contact_id))
    for _ in range(750):
        rows = [r for r in await dev_messages(pool, contact_id) if r["kind"] in CODE_KINDS]
        if len(rows) > after:
            # The key is read once a message sealed with it is there: a registration claims the
            # address before it makes the key, so a caller that saw the claim may be early for it.
            key = await PostgresDataKeys(pool, kek).get(contact_id)
            body = NaclSealer(index_key).open(key, rows[0]["sealed_body"])
            assert body is not None
            found = _NAMED_CODE.search(body) or _ANY_CODE.search(body)
            assert found, "the code message has no code"
            return found.group(1)
        await asyncio.sleep(0.02)
    raise AssertionError("no code reached the outbox")


async def codes_sent(pool: asyncpg.Pool, contact_id: UUID | str) -> int:
    """Codes issued to the contact (the verifications read model: current with `min_position`)."""
    count: int = await pool.fetchval(
        "SELECT count(*) FROM verifications WHERE contact_id = $1", UUID(str(contact_id))
    )
    return count
