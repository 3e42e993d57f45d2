"""The outbox worker's decisions: hand queued messages and codes to senders, record every outcome.

At least once: a job is leased (so two workers do not take it together), the message is loaded
from the ledger (the truth, whatever the outbox table says), consent is checked once more, the
sender is called outside any transaction, then the outcome is appended: `sent`, `failed` with the
next attempt (exponential backoff with jitter), `dead_lettered` after the last attempt or a
permanent refusal, or `cancelled`. A provider that refuses because the recipient unsubscribed
with it (Twilio's 21610) also opts the contact out of the channel, as an SMS STOP does, with
source `provider`. A crash between the provider's acceptance and our append means one more
attempt, with the same message id as the provider's idempotency key. A marketing SMS outside the
recipient's sending window (`ledger.quiet_hours`) is held, never dropped: `message.held` says
until when, and the job is offered again when the window opens.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from ledger.application.channel_preferences import ChannelPreferences
from ledger.application.contacts import ContactRegistry
from ledger.composer import Composer
from ledger.consent import Evidence
from ledger.contact import Contact
from ledger.decision import bearing_streams
from ledger.errors import ConflictError, InvalidValueError, NotFoundError
from ledger.masking import scrub
from ledger.message import Basis, Message, code_message_id, request_message
from ledger.ports import Clock, Job, OutboxQueue, Outgoing, Sender, SendError
from ledger.program import Program
from ledger.quiet_hours import QuietHours
from ledger.repository import Streams
from ledger.send_failure import Failure
from ledger.send_policy import Refusal, consent_in, still_allowed
from ledger.template import TemplateKind
from ledger.verification import CODE_TTL, Verification
from ledger.vocabulary import SYSTEM, Actor, Channel

_RETRIES = 3
LATER = timedelta(hours=1)
"""How long a finished job stays leased: the outbox projection removes it well before."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)

    def retry_at(self, attempt: int, now: datetime) -> datetime:
        delay = min(self.base * 2 ** (attempt - 1), self.cap)
        at: datetime = now + delay * random.uniform(0.8, 1.2)
        return at  # jitter: retries of many messages spread out


class Dispatcher:
    def __init__(
        self,
        registry: ContactRegistry,
        composer: Composer,
        senders: Mapping[Channel, Sender],
        queue: OutboxQueue,
        clock: Clock,
        policy: RetryPolicy | None = None,
        *,
        preferences: ChannelPreferences,
        quiet_hours: QuietHours | None = None,
    ) -> None:
        self.registry = registry
        self.preferences = preferences
        self.repository = registry.repository
        self.composer = composer
        self.senders = senders
        self.queue = queue
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.quiet_hours = quiet_hours

    async def run_once(self, limit: int = 20) -> tuple[int, list[tuple[UUID, Exception]]]:
        """Dispatch the jobs due now; return how many, and the unexpected errors (jobs held a while)."""
        errors: list[tuple[UUID, Exception]] = []
        jobs = await self.queue.claim(limit)
        for job in jobs:
            try:
                await self.dispatch(job)
            except Exception as e:
                errors.append((job.message_id, e))
                await self.queue.hold(job.message_id, self.clock.now() + self.policy.base)
        return len(jobs), errors

    async def dispatch(self, job: Job) -> None:
        message = await self._message(job)
        now = self.clock.now()
        if message is None or not message.sendable:
            await self.queue.hold(job.message_id, now + LATER)
            return
        if message.retry_at is not None and message.retry_at > now:  # the outbox table lags the ledger
            await self.queue.hold(job.message_id, message.retry_at)
            return
        read = await self._read(message)
        refusal = self._recheck(message, read, now)
        outgoing = None if refusal else await self._outgoing(message, read)
        if refusal or outgoing is None:
            message.cancel(refusal.reason if refusal else "contact_erased", now)
            await self._record(message, now + LATER)
            return
        held = self._quiet_until(message, outgoing.to, now)
        if held is not None:  # outside the recipient's sending window: held, never dropped
            message.hold(held, "quiet_hours", now)
            await self._record(message, held)
            return
        sender = self.senders[message.channel]
        try:
            provider_id = await sender.send(outgoing)
        except SendError as e:
            await self._refused(message, outgoing, sender.name, e)
            return
        message.sent(sender.name, provider_id, self.clock.now())
        await self._record(message, self.clock.now() + LATER)

    async def _refused(self, message: Message, outgoing: Outgoing, provider: str, error: SendError) -> None:
        now, failure = self.clock.now(), await self._failure(outgoing, error)
        if error.recipient_opted_out:
            await self._recipient_opted_out(message.id, failure, provider)
            await self.queue.hold(message.id, now + LATER)
        elif error.permanent or message.attempts + 1 >= self.policy.max_attempts:
            message.dead_letter(failure, now)
            await self._record(message, now + LATER)
        else:
            retry_at = self.policy.retry_at(message.attempts + 1, now)
            message.failed(failure, retry_at, now)
            await self._record(message, retry_at)

    async def _failure(self, outgoing: Outgoing, error: SendError) -> Failure:
        """The category and code in clear; the provider's words masked once more, then sealed."""
        key = await self.registry.keys.get(outgoing.contact_id)
        detail = scrub(str(error), outgoing.to)[:500]
        sealed = self.registry.sealer.seal(key, detail) if key is not None and detail else None
        return Failure(category=error.category, code=error.code, sealed_detail=sealed)

    async def _recipient_opted_out(self, message_id: UUID, failure: Failure, provider: str) -> None:
        """The provider says the recipient unsubscribed with it (an SMS STOP the carrier keeps):
        the message is dead-lettered and the channel opted out, as a STOP would, in one append."""
        for attempt in range(_RETRIES):
            message: Message = await self.repository.get(Message, message_id)
            proof = Evidence(actor=Actor(kind="system", id=provider), source="provider")
            changed = await self.preferences.opt_out_everywhere(message.contact_id, message.channel, proof)
            if message.status in ("queued", "retrying"):
                message.dead_letter(failure, self.clock.now())
                changed.append(message)
            try:
                await self.repository.save(*changed)
                return
            except ConflictError:  # a STOP or another worker got there first: look again
                if attempt == _RETRIES - 1:
                    raise

    def _quiet_until(self, message: Message, address: str, now: datetime) -> datetime | None:
        if self.quiet_hours is None or message.basis is None:
            return None
        return self.quiet_hours.hold(
            message.channel, message.purpose, message.optin_id, message.basis.rule, address, now
        )

    async def _record(self, message: Message, hold_until: datetime) -> None:
        # A conflict means another worker recorded an outcome first: the ledger has one.
        with contextlib.suppress(ConflictError):
            await self.repository.save(message)
        await self.queue.hold(message.id, hold_until)

    async def _message(self, job: Job) -> Message | None:
        message: Message | None = await self.repository.find(Message, job.message_id)
        if message is not None or job.verification_id is None:
            return message
        message = await self._code_message(job.verification_id)
        if message is None:
            return None
        try:
            await self.repository.save(message)
        except ConflictError:
            found: Message = await self.repository.get(Message, message.id)
            return found
        return message

    async def _code_message(self, verification_id: UUID) -> Message | None:
        """Render a verification's code into its message (an opt-in invite when it carries one)."""
        read = await self.repository.read(verification_id)
        verification = read.get(Verification, verification_id)
        issued = self.repository.mapper.to_domain_event(read.events[verification_id][0].stored())
        if not isinstance(issued, Verification.Created) or not verification.open:
            return None
        if self.clock.now() >= verification.expires_at:
            return None
        key = await self.registry.keys.get(verification.contact_id)
        code = self.registry.sealer.open(key, issued.sealed_code)
        if key is None or code is None:
            return None
        invite = verification.optin_id is not None and verification.action == "opt_in"
        kind: TemplateKind = "optin_invite" if invite else "verification_code"
        optin, channel = verification.optin_id, verification.channel
        read = await self.repository.read(
            *([optin] if optin else []), *self.composer.template_streams(kind, channel, optin)
        )
        program = read.find(Program, optin) if optin else None
        system = self.composer.system_variables(verification.contact_id, channel, program)
        system |= {"code": code, "expires_minutes": str(int(CODE_TTL.total_seconds() // 60))}
        template = await self.composer.select(kind, channel, optin, read=read)
        try:
            composed = self.composer.compose(
                template, key=key, purpose="transactional", variables={}, system=system
            )
        except InvalidValueError:  # a program's own template wants variables a code cannot give
            template = await self.composer.select(kind, verification.channel, None)
            composed = self.composer.compose(
                template, key=key, purpose="transactional", variables={}, system=system
            )
        message = request_message(
            code_message_id(verification_id),
            contact_id=verification.contact_id,
            channel=verification.channel,
            kind=kind,
            purpose="transactional",
            optin_id=verification.optin_id,
            idempotency_key=None,
            actor=SYSTEM,
        )
        message.queue(
            Basis(rule="verification", verification_id=verification_id),
            (template.id, template.content_version),
            composed.sealed,
            composed.preview,
            composed.rendered.sms,
            composed.list_unsubscribe,
        )
        return message

    async def _read(self, message: Message) -> Streams:
        """What the last checks read, at once: the code's verification, if the message carries
        one, and the streams that bear on consent (the contact's among them)."""
        assert message.basis is not None
        code = message.basis.verification_id
        bearing = bearing_streams(message.contact_id, message.optin_id, message.channel)
        return await self.repository.read(*([code] if code is not None else []), *bearing)

    def _recheck(self, message: Message, read: Streams, now: datetime) -> Refusal | None:
        assert message.basis is not None
        if message.basis.verification_id is not None:
            verification = read.get(Verification, message.basis.verification_id)
            if not verification.open or now >= verification.expires_at:
                return Refusal(reason="code_closed")  # type: ignore[arg-type]
        current = consent_in(
            read.events, self.repository.mapper, message.contact_id, message.optin_id, message.channel
        )
        return still_allowed(message.purpose, message.channel, message.basis, current)

    async def _outgoing(self, message: Message, read: Streams) -> Outgoing | None:
        registry = self.registry
        key = await registry.keys.get(message.contact_id)
        try:
            address = registry.opened_address(read.get(Contact, message.contact_id), key)
        except NotFoundError:
            return None
        sealed = message.sealed
        assert sealed is not None
        text = registry.sealer.open(key, sealed.text)
        if key is None or text is None:
            return None

        def opened(value: bytes | None) -> str | None:
            return None if value is None else registry.sealer.open(key, value)

        url = mailto = None
        if message.list_unsubscribe and message.optin_id is not None:
            url = self.composer.links.url(message.contact_id, message.optin_id)
            mailto = self.composer.links.mailto(message.contact_id, message.optin_id)
        return Outgoing(
            message_id=message.id,
            contact_id=message.contact_id,
            kind=message.kind,
            channel=message.channel,
            to=address.value,
            text=text,
            subject=opened(sealed.subject),
            html=opened(sealed.html),
            unsubscribe_url=url,
            unsubscribe_mailto=mailto,
        )
