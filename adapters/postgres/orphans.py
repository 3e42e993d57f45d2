"""Leftovers of registrations that never finished: a lookup row and a data key, but no contact.

Registering claims the address (lookup row), makes the contact's data key, then records the
contact in the ledger; a failure in between (the database gone, the process killed) leaves the
first two behind with nothing in the ledger. Nothing can erase such a contact through the API
(there is none) and retention's idle-contact rule never sees it, so they are swept here. Only
after a grace period: the registration may still be under way, or its append's outcome still
unknown, and a key deleted under a contact that does get recorded would lose its data.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

# Rows older than the grace period whose contact id has no event at all.
_FORGET = """
WITH orphans AS (
    (SELECT contact_id FROM contact_keys k
      WHERE k.created_at < clock_timestamp() - $1::interval
        AND NOT EXISTS (SELECT FROM events e WHERE e.originator_id = k.contact_id)
      LIMIT $2)
    UNION
    (SELECT contact_id FROM contact_lookup l
      WHERE l.created_at < clock_timestamp() - $1::interval
        AND NOT EXISTS (SELECT FROM events e WHERE e.originator_id = l.contact_id)
      LIMIT $2)
), keys AS (
    DELETE FROM contact_keys WHERE contact_id IN (SELECT contact_id FROM orphans) RETURNING contact_id
), lookups AS (
    DELETE FROM contact_lookup WHERE contact_id IN (SELECT contact_id FROM orphans) RETURNING contact_id
)
SELECT count(*) FROM (SELECT contact_id FROM keys UNION SELECT contact_id FROM lookups) AS gone
"""

GRACE = timedelta(hours=1)


async def forget_orphans(pool: asyncpg.Pool, grace: timedelta = GRACE, limit: int = 1000) -> int:
    """Delete the lookup rows and data keys of registrations older than `grace` that never
    recorded their contact (at most `limit` of each); return how many contact ids were cleared."""
    return int(await pool.fetchval(_FORGET, grace, limit))
