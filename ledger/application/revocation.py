"""Replies that are not keywords, screened for revocation (the FCC's "any reasonable means").

A plain revocation becomes the same channel opt-out as STOP, with the reply itself as sealed
evidence; a doubtful one opens a review for staff with a deadline; anything else is an ordinary
message. Staff confirming a review opt the number out (evidence: their confirmation and the
reply); dismissing records why not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import msgspec

from ledger.address import Address
from ledger.application.channel_preferences import ChannelPreferences
from ledger.application.contacts import ContactRegistry
from ledger.consent import Evidence
from ledger.errors import ConflictError, NotFoundError
from ledger.masking import scrub
from ledger.optout_deadline import DeadlinePolicy
from ledger.ports import Clock, ReadModels
from ledger.revocation import Classification, RevocationClassifier, Verdict
from ledger.revocation_review import RevocationReview, open_review
from ledger.vocabulary import Actor

REVOCATION = "REVOCATION"
"""How a revoking reply is named where a keyword would be (the reply itself is sealed)."""


@dataclass(frozen=True, slots=True)
class Screened:
    """A reply that revokes: opt out as STOP does, with this sealed evidence."""

    contact_id: UUID
    sealed_reply: bytes


class InboundRevocation:
    def __init__(
        self,
        registry: ContactRegistry,
        preferences: ChannelPreferences,
        classifier: RevocationClassifier,
        deadlines: DeadlinePolicy,
        review_time: timedelta,
        clock: Clock,
        reads: ReadModels,
        *,
        observe: Callable[[Verdict], None] | None = None,
    ) -> None:
        self.registry = registry
        self.repository = registry.repository
        self.preferences = preferences
        self.classifier = classifier
        self.deadlines = deadlines
        self.review_time = review_time
        self.clock = clock
        self.reads = reads
        self.observe = observe

    async def screen(self, sender: Address, body: str, inbound_id: str) -> Screened | None:
        """A `Screened` for a plain revocation; None otherwise (a doubtful one opens a review)."""
        found = self.classifier.classify(body)
        if self.observe is not None:
            self.observe(found.verdict)
        if found.verdict == "none":
            return None
        contact_id = (await self.registry.register(sender, Actor(kind="contact"))).contact_id
        sealed = await self._seal(contact_id, body, found)
        if found.verdict == "revoke":
            return Screened(contact_id, sealed)
        now = self.clock.now()
        due = min(now + self.review_time, self.deadlines.legal_limit(sender.channel, now))
        review = open_review(
            inbound_id, contact_id=contact_id, channel=sender.channel, sealed_reply=sealed,
            matched=found.matched, language=found.language, received_at=now, due_at=due,
        )  # fmt: skip
        with contextlib.suppress(ConflictError):  # a retried webhook: the review is open already
            await self.repository.save(review)
        return None

    async def confirm(self, review_id: UUID, actor: Actor) -> int:
        """Staff agree the reply revoked consent: the channel opt-out, as if it were STOP."""
        review = await self._review(review_id)
        review.confirm(actor)
        key = await self.registry.keys.get(review.contact_id)
        if key is None:
            raise NotFoundError(f"no contact with id {review.contact_id}")
        reply = self.registry.sealer.open(key, review.sealed_reply) or ""
        evidence = Evidence(
            actor=actor,
            source="admin",
            sealed_reason=self.registry.sealer.seal(key, f"confirmed a revoking reply: {reply}"),
        )
        changed = await self.preferences.opt_out_everywhere(review.contact_id, review.channel, evidence)
        return await self._settled(await self.repository.save(review, *changed))

    async def dismiss(self, review_id: UUID, actor: Actor, note: str | None) -> int:
        review = await self._review(review_id)
        key = await self.registry.keys.get(review.contact_id)
        review.dismiss(actor, self.registry.sealer.seal(key, note) if note and key else None)
        return await self._settled(await self.repository.save(review))

    async def _settled(self, position: int) -> int:
        """The review queue shows the decision before the caller looks again."""
        await self.reads.settle(position, ["revocation_reviews"])
        return position

    async def replies(self, review_ids: list[UUID]) -> dict[UUID, str]:
        """Each reviewed reply as the contact wrote it (any address in it masked), for staff."""
        found: dict[UUID, str] = {}
        for review_id in review_ids:
            review = await self.repository.find(RevocationReview, review_id)
            if review is None:
                continue
            key = await self.registry.keys.get(review.contact_id)
            opened = self.registry.sealer.open(key, review.sealed_reply)
            if opened is not None:
                found[review_id] = scrub(str(msgspec.json.decode(opened).get("reply", "")))
        return found

    async def _review(self, review_id: UUID) -> RevocationReview:
        return await self.repository.get(RevocationReview, review_id)

    async def _seal(self, contact_id: UUID, body: str, found: Classification) -> bytes:
        key = await self.registry.keys.get(contact_id)
        assert key is not None  # registered a moment ago
        plain = {
            "reply": body,
            "matched": found.matched,
            "language": found.language,
            "verdict": found.verdict,
        }
        return self.registry.sealer.seal(key, msgspec.json.encode(plain).decode())
