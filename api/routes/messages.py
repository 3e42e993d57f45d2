"""Messages: send (consent checked now), send or invite, and the record of each message."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from adapters.postgres.replica import ReadDatabase
from api.answers import one_page, written
from api.auth.guards import allow, principal_of
from api.dependencies import MAX_INTEGER, components
from api.problems import problem
from api.routes.templates import Variables
from ledger.application.evidence import Client
from ledger.application.messaging import Messaging, SendOutcome, SendRequest
from ledger.message import Basis
from ledger.template import TemplateKind
from ledger.vocabulary import Actor, Channel
from projections import messages as read

BLOCKED = "Blocked by consent: not sent (`reason`, `message_id`; the refusal is recorded too)."
IdempotencyKey = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._:\-]{1,128}$")]


class SendIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`template_id`, or `kind` (the program's template of that kind, else the default)."""

    contact_id: UUID
    optin_id: UUID
    template_id: UUID | None = None
    kind: TemplateKind | None = None
    variables: Variables = msgspec.field(default_factory=dict)
    idempotency_key: IdempotencyKey | None = None


class SendOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """`queued` (202), `diverted` (no consent yet: the opt-in invite went instead, 202)."""

    message_id: UUID
    status: str
    basis: Basis | None = None
    verification_id: UUID | None = None
    replayed: bool = False


class MessageDetail(msgspec.Struct, frozen=True, kw_only=True):
    message: read.MessageRow
    events: list[read.MessageEvent]


class MessagePage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[read.MessageRow]
    next_before: int | None


def provide_sender(request: Request[Any, Any, Any]) -> UUID | None:
    """Whose messages the caller may read: a service key, its own account's (this key's id);
    staff and auditors, everyone's (None)."""
    principal = principal_of(request)
    return UUID(principal.id) if principal.kind == "api_key" else None


class MessagesController(Controller):
    path = "/v1/messages"
    tags = ("messages",)
    dependencies = {  # noqa: RUF012 (Litestar reads it as a class attribute)
        **components("messaging"),
        "sender": Provide(provide_sender, sync_to_thread=False),
    }

    @post(
        "/send",
        guards=[allow("staff", "service")],
        status_code=202,
        summary="Send if consent allows it now (202), else 409 with the reason",
        opt={"problems": {409: BLOCKED}},
    )
    async def send(
        self, data: JSONBody[SendIn], messaging: NamedDependency[Messaging], actor: NamedDependency[Actor]
    ) -> Response[SendOut]:
        return _answer(await messaging.send(_request(data), actor))

    @post(
        "/send_with_consent",
        guards=[allow("staff", "service")],
        status_code=202,
        summary="Send if opted in; with no consent yet, send the opt-in invite instead; else 409",
        opt={"problems": {409: BLOCKED}},
    )
    async def send_with_consent(
        self,
        data: JSONBody[SendIn],
        messaging: NamedDependency[Messaging],
        actor: NamedDependency[Actor],
        client: NamedDependency[Client],
    ) -> Response[SendOut]:
        return _answer(await messaging.send_with_consent(_request(data), actor, client))

    @get(
        "/",
        guards=[allow("staff", "auditor", "service")],
        summary="Messages, newest first (bodies masked); a service key sees those its account sent",
    )
    async def list(
        self,
        read_db: NamedDependency[ReadDatabase],
        sender: NamedDependency[UUID | None],
        contact_id: FromQuery[UUID | None] = None,
        optin_id: FromQuery[UUID | None] = None,
        status: Annotated[str | None, QueryParameter(max_length=32)] = None,
        channel: FromQuery[Channel | None] = None,
        before: Annotated[
            int | None, QueryParameter(ge=1, le=MAX_INTEGER, description="the next_before of a page")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> MessagePage:
        rows = await read.list_messages(
            read_db,
            contact_id=contact_id,
            optin_id=optin_id,
            status=status,
            channel=channel,
            before=before,
            limit=limit + 1,
            sent_by_key=sender,
        )
        rows, more = one_page(rows, limit)
        return MessagePage(items=rows, next_before=rows[-1].seq if more else None)

    @get(
        "/{message_id:uuid}",
        guards=[allow("staff", "auditor", "service")],
        summary="One message: status, delivery timeline, the consent it relied on "
        "(a service key: only those its account sent)",
    )
    async def get_one(
        self,
        message_id: FromPath[UUID],
        read_db: NamedDependency[ReadDatabase],
        sender: NamedDependency[UUID | None],
    ) -> MessageDetail:
        row = await read.get_message(read_db, message_id, sent_by_key=sender)
        if row is None:
            raise NotFoundException(f"no message with id {message_id}")
        return MessageDetail(message=row, events=await read.message_events(read_db, message_id))


def _request(data: SendIn) -> SendRequest:
    return SendRequest(
        contact_id=data.contact_id,
        optin_id=data.optin_id,
        kind=data.kind,
        template_id=data.template_id,
        variables=dict(data.variables),
        idempotency_key=data.idempotency_key,
    )


def _answer(outcome: SendOutcome) -> Response[Any]:
    headers = {"Ledger-Position": str(outcome.position)}
    if outcome.status == "blocked":
        return problem(
            409,
            "Blocked by consent",
            f"not sent: {outcome.reason}",
            headers=headers,
            reason=outcome.reason,
            message_id=str(outcome.message_id),
            replayed=outcome.replayed,
        )
    body = SendOut(
        message_id=outcome.message_id,
        status=outcome.status,
        basis=outcome.basis,
        verification_id=outcome.verification_id,
        replayed=outcome.replayed,
    )
    return written(body, outcome.position, 202)
