"""Compliance figures as Prometheus text, for the service's metrics endpoint (`/metrics`).

`optin_messages_sent_after_optout` must stay 0; alert on it, for example:
`optin_messages_sent_after_optout > 0` (fires at once) and `optin_revocation_reviews_overdue > 0`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from projections.optout_deadlines import figures

_HELP = {
    "optouts": ("optin_optouts", "Opt-outs recorded (program and channel-wide)."),
    "optouts_honoured": ("optin_optouts_honoured", "Opt-outs no message followed after their due time."),
    "reviews_open": ("optin_revocation_reviews_open", "Doubtful SMS replies waiting for staff."),
    "reviews_overdue": ("optin_revocation_reviews_overdue", "Reviews past their deadline."),
    "sent_after_optout": (
        "optin_messages_sent_after_optout",
        "Messages sent after an opt-out's due time: must be 0.",
    ),
}


async def prometheus_text(pool: asyncpg.Pool) -> str:
    found = await figures(pool, datetime.now(UTC))
    lines = []
    for key, (name, text) in _HELP.items():
        lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge", f"{name} {found[key]}"]
    return "\n".join(lines) + "\n"
