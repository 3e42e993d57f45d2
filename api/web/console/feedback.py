"""The dashboard's email feedback: bounces and complaints over time, and per program, from the
`email_feedback` read model; and the words a contact's timeline uses for feedback events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from adapters.postgres.replica import ReadDatabase
from api.web.charts import Chart, stacked_bars
from projections.email_feedback import feedback_per_day

SERIES = {"hard_bounce": "hard bounces", "soft_bounce": "soft bounces", "complaint": "spam complaints"}


@dataclass(frozen=True, slots=True)
class ProgramFeedback:
    program: str
    hard_bounce: int
    soft_bounce: int
    complaint: int


async def feedback_figures(pool: ReadDatabase, days: list[date]) -> tuple[Chart, list[ProgramFeedback]]:
    """The chart of bounces and complaints per day, and the period's totals per program."""
    rows = await feedback_per_day(pool, days[0], days[-1])
    counts: dict[str, dict[date, int]] = {name: {} for name in SERIES.values()}
    totals: dict[str, list[int]] = {}
    for row in rows:
        values = (row.hard_bounce, row.soft_bounce, row.complaint)
        for (_, name), value in zip(SERIES.items(), values, strict=True):
            counts[name][row.day] = counts[name].get(row.day, 0) + value
        total = totals.setdefault(row.program, [0, 0, 0])
        totals[row.program] = [a + b for a, b in zip(total, values, strict=True)]
    chart = stacked_bars("chart-email-feedback", "Email bounces and complaints per day", days, counts)
    programs = [ProgramFeedback(name, *values) for name, values in sorted(totals.items())]
    return chart, programs


def in_words(topic: str, details: dict[str, Any]) -> str | None:
    """What a feedback event means, said plainly (None for events the page shows as they are)."""
    evidence = details.get("evidence") if isinstance(details.get("evidence"), dict) else {}
    source = evidence.get("source") if evidence else None
    status = details.get("status") or (evidence or {}).get("status_code")
    code = f" (status {status})" if status else ""
    via = {"smtp": "our bounce mailbox", "webhook": "the feedback webhook"}.get(
        str(details.get("via")), str(details.get("via", "")).upper() or "a provider"
    )
    if topic == "mailbox.bounced" and details.get("kind") == "hard":
        return f"A message bounced permanently{code}, reported by {via}: the address does not take mail."
    if topic == "mailbox.bounced":
        return f"A message bounced temporarily{code}, reported by {via}; repeated soft bounces suppress it."
    if topic == "mailbox.complained":
        return f"The recipient reported a message as spam, reported by {via}."
    if topic == "mailbox.cleared":
        return "The contact proved the address with a code: earlier soft bounces no longer count."
    if topic == "channel.opted_out" and source == "bounce":
        return f"Email to this address is suppressed after bounces{code}; only a new code lifts it."
    if topic == "channel.resubscribed" and evidence and evidence.get("verification_id"):
        return "Email to this address is no longer suppressed: the contact proved it with a code."
    if topic == "consent.withdrawn" and source == "complaint":
        return "Opted out of this marketing program because the recipient reported a message as spam."
    if topic == "consent.withdrawn" and source == "email_reply":
        return "Opted out by an email to the unsubscribe address, from the contact's own address."
    return None
