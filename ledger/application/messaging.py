"""Sending: check consent at send time, render, and record the message queued or blocked.

Nothing is sent here: a queued message waits in the outbox for the worker (no network call in a
write). Rendering comes first, so a request with a missing variable is refused (422) and leaves
no trace; a refusal by consent is recorded (`message.blocked`) and answered 409. With an
idempotency key the same caller's retry finds the first message and gets its answer again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from uuid import UUID

from ledger.application.consent import Client, ConsentFlows
from ledger.application.guardrails import Guardrails
from ledger.composer import Composer, Composition, check_variables
from ledger.contact import Contact
from ledger.decision import ConsentDecision, bearing_streams
from ledger.errors import ConflictError, InvalidValueError, NotFoundError
from ledger.message import Basis, BlockReason, Message, message_id_for, request_message
from ledger.program import Program
from ledger.repository import Streams
from ledger.send_policy import Refusal, consent_in, permit, purpose_of
from ledger.template import Template, TemplateKind
from ledger.vocabulary import CHANNELS, Actor

SENDABLE: frozenset[TemplateKind] = frozenset({"transactional", "promotional", "optin_confirmation"})


@dataclass(frozen=True, slots=True)
class SendRequest:
    contact_id: UUID
    optin_id: UUID
    kind: TemplateKind | None = None
    template_id: UUID | None = None
    variables: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class SendOutcome:
    message_id: UUID
    status: str
    position: int
    reason: BlockReason | None = None
    basis: Basis | None = None
    verification_id: UUID | None = None
    replayed: bool = False


class Messaging:
    def __init__(self, composer: Composer, flows: ConsentFlows, guardrails: Guardrails) -> None:
        self.composer = composer
        self.flows = flows
        self.repository = flows.repository
        self.registry = flows.registry
        self.guardrails = guardrails

    async def send(self, request: SendRequest, actor: Actor) -> SendOutcome:
        """Queue the message if consent allows it now, else record it blocked."""
        caller = _caller(actor)
        begun = await self._begin(request, actor, caller)
        if isinstance(begun, SendOutcome):
            return begun
        message, draft, now = begun
        return await self._decide(message, draft, now, request, caller)

    async def send_with_consent(self, request: SendRequest, actor: Actor, client: Client) -> SendOutcome:
        """Send if opted in; with no consent yet, send the opt-in invite instead; else block."""
        caller = _caller(actor)
        begun = await self._begin(request, actor, caller)
        if isinstance(begun, SendOutcome):
            return begun
        message, draft, now = begun
        answer = permit("marketing", now)
        if not isinstance(answer, Refusal) or answer.reason != "no_consent":
            return await self._decide(message, draft, now, request, caller)
        await self.guardrails.staff_code(message.contact_id)
        invited = await self.flows.request(message.contact_id, request.optin_id, "opt_in", actor, client)
        assert invited.verification_id is not None
        message.divert(invited.verification_id)
        return await self._save(message, request, caller)

    async def _prepare(
        self, message_id: UUID, request: SendRequest, actor: Actor
    ) -> tuple[Message, _Draft, ConsentDecision]:
        """The message, its draft, and consent now, from one read (`_read`)."""
        kind = request.kind or "promotional"
        read = await self._read(request, kind)
        program, contact = _program_and_contact(read, request)
        channel = contact.channel
        template = await self.composer.select(kind, channel, program.id, request.template_id, read)
        if request.kind is not None and template.kind != request.kind:
            raise InvalidValueError(f"the template is a {template.kind} template, not {request.kind}")
        if template.kind not in SENDABLE:
            raise InvalidValueError(
                f"{template.kind} messages are sent by the ledger itself (consent requests, keyword replies)"
            )
        check_variables(request.variables)
        key = await self.registry.keys.get(contact.id)
        if key is None:
            raise NotFoundError(f"no contact with id {contact.id}")
        purpose = purpose_of(template.kind, program.purpose)
        system = self.composer.system_variables(contact.id, channel, program)
        composition = self.composer.compose(
            template, key=key, purpose=purpose, variables=request.variables, system=system
        )
        message = request_message(
            message_id,
            contact_id=contact.id,
            channel=channel,
            kind=template.kind,
            purpose=purpose,
            optin_id=program.id,
            idempotency_key=request.idempotency_key,
            actor=actor,
        )
        now = consent_in(read.events, self.repository.mapper, contact.id, program.id, channel)
        return message, _Draft(program, template, composition), now

    async def _read(self, request: SendRequest, kind: TemplateKind) -> Streams:
        """The program, the contact, the templates to choose from and the streams that bear on
        consent, in one read (one snapshot): the last two for every channel, since which one is
        the contact's shows only once the contact is read."""
        streams = [request.optin_id, request.contact_id]
        for channel in CHANNELS:
            streams += self.composer.template_streams(kind, channel, request.optin_id, request.template_id)
            streams += bearing_streams(request.contact_id, request.optin_id, channel)
        return await self.repository.read(*streams)

    async def _decide(
        self, message: Message, draft: _Draft, now: ConsentDecision, request: SendRequest, caller: str
    ) -> SendOutcome:
        decision = permit(message.purpose, now)
        if isinstance(decision, Refusal):
            message.block(decision.reason, decision.position)
        else:
            c = draft.composition
            message.queue(
                decision,
                (draft.template.id, draft.template.content_version),
                c.sealed,
                c.preview,
                c.rendered.sms,
                c.list_unsubscribe,
            )
        return await self._save(message, request, caller)

    async def _save(self, message: Message, request: SendRequest, caller: str) -> SendOutcome:
        try:
            return _outcome(message, await self.repository.save(message))
        except ConflictError:  # a concurrent retry with the same key won: answer as it did
            _, replay = await self._replay(request, caller)
            assert replay is not None
            return replay

    async def _begin(
        self, request: SendRequest, actor: Actor, caller: str
    ) -> SendOutcome | tuple[Message, _Draft, ConsentDecision]:
        """The earlier answer to a retried request, or the message, its draft and consent now."""
        message_id, replay = await self._replay(request, caller)
        if replay is not None:
            return replay
        return await self._prepare(message_id, request, actor)

    async def _replay(self, request: SendRequest, caller: str) -> tuple[UUID, SendOutcome | None]:
        if request.idempotency_key is None:
            return uuid.uuid4(), None
        message_id = message_id_for(caller, request.idempotency_key)
        earlier = await self.repository.find(Message, message_id)
        if earlier is None:
            return message_id, None
        if (earlier.contact_id, earlier.optin_id) != (request.contact_id, request.optin_id):
            raise ConflictError("this idempotency_key was already used for another message")
        position = await self.repository.store.head()
        return message_id, _outcome(earlier, position, replayed=True)


def _program_and_contact(read: Streams, request: SendRequest) -> tuple[Program, Contact]:
    program = read.get(Program, request.optin_id)
    contact = read.get(Contact, request.contact_id)
    contact.require_live()
    if contact.channel not in program.channels:
        raise InvalidValueError(f"the program does not use the {contact.channel} channel")
    if request.kind is None and request.template_id is None:
        raise InvalidValueError("give a template_id or a kind")
    return program, contact


def _caller(actor: Actor) -> str:
    """Whose idempotency keys a request's key is one of: each caller has its own."""
    return f"{actor.kind}:{actor.id}"


@dataclass(frozen=True, slots=True)
class _Draft:
    program: Program
    template: Template
    composition: Composition


def _outcome(message: Message, position: int, *, replayed: bool = False) -> SendOutcome:
    status = message.status if message.status in ("blocked", "diverted") else "queued"
    return SendOutcome(
        message_id=message.id,
        status=status,
        position=position,
        reason=message.reason if message.status == "blocked" else None,  # type: ignore[arg-type]
        basis=message.basis,
        verification_id=message.verification_id,
        replayed=replayed,
    )
