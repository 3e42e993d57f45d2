"""The compliance gauges of `/metrics`, refreshed from the read models (`adapters.metrics`).

`optin_messages_sent_after_optout` must stay 0; alert on it, for example
`optin_messages_sent_after_optout > 0` (fires at once) and `optin_revocation_reviews_overdue > 0`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from adapters import metrics
from projections.optout_deadlines import figures


async def sample_compliance(pool: asyncpg.Pool) -> None:
    """Set the compliance gauges from the opt-out deadline and review read models."""
    found = await figures(pool, datetime.now(UTC))
    metrics.OPTOUTS.set(found["optouts"])
    metrics.OPTOUTS_HONOURED.set(found["optouts_honoured"])
    metrics.SENT_AFTER_OPTOUT.set(found["sent_after_optout"])
    metrics.REVIEWS_OPEN.set(found["reviews_open"])
    metrics.REVIEWS_OVERDUE.set(found["reviews_overdue"])
