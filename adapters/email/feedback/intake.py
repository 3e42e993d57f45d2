"""From a received report to the ledger: match it to one of our messages, then let the ledger act.

Matching never trusts an address in the report. A report is ours when it carries a return path
whose signature verifies (the recipient of a DSN, the `Return-Path` of the reported copy, an
SES `mail.source`, a provider's metadata) or, only where the channel itself is authenticated
(the webhook with its API key, a signed provider payload), the `Message-ID` we set. A mail to
the unsubscribe mailbox acts only with a genuine unsubscribe token in its subject, from the
address that token belongs to. Anything else is acknowledged and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

import structlog

from adapters.email.feedback.reports import (
    DeliveryReport,
    FeedbackReport,
    PlainMail,
    clipped,
    read_inbound,
)
from adapters.email.feedback.verp import ReturnPaths
from ledger.address import normalise
from ledger.application.email_feedback import EmailFeedback, Outcome
from ledger.errors import InvalidValueError
from ledger.mailbox import BounceKind, Via
from ledger.vocabulary import Actor

log = structlog.get_logger(__name__)

UnsubscribeTokens = Callable[[str], tuple[UUID, UUID] | None]
"""(contact id, program id) of a genuine `List-Unsubscribe` token, else None."""

_UNSUBSCRIBE_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{64}(?![A-Za-z0-9_-])")
_COMPLAINT_TYPES = frozenset({"abuse"})
_UNMATCHED = "not matched to one of our messages"


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One bounce or complaint from a provider's own payload, before matching."""

    kind: BounceKind | None  # None: a complaint
    return_paths: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()
    status: str | None = None
    detail: str | None = None
    feedback_type: str = "abuse"


def our_message_id(header: str) -> UUID | None:
    """The message a `Message-ID` we set names (`<uuid@domain>`), if it has that form."""
    local = header.strip().strip("<>").partition("@")[0]
    try:
        return UUID(local)
    except ValueError:
        return None


class FeedbackIntake:
    def __init__(self, feedback: EmailFeedback, paths: ReturnPaths, unsubscribe_tokens: UnsubscribeTokens):
        self.feedback = feedback
        self.paths = paths
        self.unsubscribe_tokens = unsubscribe_tokens

    async def message(
        self, raw: bytes, *, via: Via, actor: Actor, envelope_to: Sequence[str] = (), trusted: bool = False
    ) -> Outcome:
        """A raw RFC 5322 message: a DSN, an ARF report, or a mail to the unsubscribe mailbox.

        `trusted`: the channel is authenticated, so a `Message-ID` of ours may identify the send.
        """
        report = read_inbound(raw)
        match report:
            case DeliveryReport(recipients=recipients, original=original, addressed=addressed):
                kinds = {r.bounce for r in recipients} - {None}
                if not kinds:
                    return await self._nothing("a delivery report without a failure")
                worst = next(r for r in recipients if r.bounce == ("hard" if "hard" in kinds else "soft"))
                message_id = self._match(
                    [*envelope_to, *addressed, *original.return_paths], (), original.message_ids, trusted
                )
                if message_id is None:
                    return await self._nothing(_UNMATCHED)
                kind: BounceKind = "hard" if "hard" in kinds else "soft"
                return await self.feedback.bounced(
                    message_id, kind, worst.status, clipped(worst.diagnostic), via, actor
                )
            case FeedbackReport(feedback_type=feedback_type, original=original, addressed=addressed):
                if feedback_type not in _COMPLAINT_TYPES:
                    return await self._nothing(f"a {feedback_type[:40] or 'untyped'} feedback report")
                message_id = self._match(
                    [*envelope_to, *original.return_paths, *addressed], (), original.message_ids, trusted
                )
                if message_id is None:
                    return await self._nothing(_UNMATCHED)
                return await self.feedback.complained(
                    message_id, feedback_type, clipped(report.user_agent), via, actor
                )
            case PlainMail():
                return await self._reply(report)
        return await self._nothing("unreadable")

    async def provider(self, events: Iterable[ProviderEvent], *, via: Via, actor: Actor) -> list[Outcome]:
        """Events from a provider's authenticated payload (signed, or behind its credentials)."""
        outcomes = []
        for event in events:
            message_id = self._match(event.return_paths, event.tokens, event.message_ids, True)
            if message_id is None:
                outcomes.append(await self._nothing(_UNMATCHED))
            elif event.kind is None:
                outcomes.append(
                    await self.feedback.complained(
                        message_id, event.feedback_type, clipped(event.detail), via, actor
                    )
                )
            else:
                outcomes.append(
                    await self.feedback.bounced(
                        message_id, event.kind, event.status, clipped(event.detail), via, actor
                    )
                )
        return outcomes

    def _match(
        self, return_paths: Iterable[str], tokens: Iterable[str], message_ids: Iterable[str], trusted: bool
    ) -> UUID | None:
        found = self.paths.first_message(return_paths)
        for token in tokens:
            found = found or self.paths.message_of_token(token)
        if found is None and trusted:
            found = next(filter(None, (our_message_id(m) for m in message_ids)), None)
        return found

    async def _reply(self, mail: PlainMail) -> Outcome:
        """A mail to the unsubscribe mailbox: the token in its subject names contact and program."""
        candidates = _UNSUBSCRIBE_TOKEN.findall(mail.subject)
        named = next(filter(None, map(self.unsubscribe_tokens, candidates)), None)
        if named is None or mail.sender is None:
            return await self._nothing("no unsubscribe token")
        try:
            sender = normalise("email", mail.sender)
        except InvalidValueError:
            return await self._nothing("no sender address")
        outcome = await self.feedback.unsubscribe_reply(named[0], named[1], sender)
        if outcome.ignored:
            log.info("email feedback set aside", reason=outcome.ignored)
        return outcome

    async def head(self) -> int:
        """The ledger position now (what a request that changed nothing answers with)."""
        return await self.feedback.repository.store.head()

    async def _nothing(self, reason: str) -> Outcome:
        log.info("email feedback set aside", reason=reason)
        return Outcome(await self.head(), ignored=reason)
