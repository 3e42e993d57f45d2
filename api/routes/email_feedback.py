"""Email feedback webhooks: a raw report (`message/rfc822`), and SES, SendGrid and Postmark payloads.

- `POST /v1/webhooks/email/feedback`: a DSN, an ARF report or a mail to the unsubscribe address,
  as the raw message; for a mail server that pipes mail to HTTP. A service API key (or admin).
- `POST /v1/webhooks/email/ses`: Amazon SNS (signed; topic in OPTIN_SES_TOPIC_ARNS); a
  subscription confirmation is accepted by visiting its URL on the SNS host.
- `POST /v1/webhooks/email/sendgrid`: SendGrid's Event Webhook (ECDSA-signed).
- `POST /v1/webhooks/email/postmark`: Postmark's bounce and spam-complaint webhooks (HTTP basic
  auth: Postmark does not sign).

A provider endpoint that is not configured answers 404; a missing or wrong signature or
credential changes nothing and answers 403 (401 with a basic-auth challenge for Postmark).
Reports that name none of our messages are acknowledged (so the provider stops retrying) and
change nothing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, post
from litestar.exceptions import (
    ClientException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)

from adapters.email.feedback.postmark import basic_auth_ok, postmark_events
from adapters.email.feedback.sendgrid import sendgrid_events
from adapters.email.feedback.sns import SnsError, ses_events
from api.answers import written
from api.auth.guards import allow, anyone, principal_of
from api.dependencies import request_id
from api.email_feedback import EmailFeedbackServices
from ledger.application.email_feedback import Outcome
from ledger.mailbox import Via
from ledger.vocabulary import Actor

MAX_REPORT = 10 * 1024 * 1024
_RAW_TYPES = frozenset({"message/rfc822", "text/plain", "application/octet-stream"})


class FeedbackOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a report did: whether it changed consent, and why it was set aside if it was."""

    changed: bool
    contact_id: UUID | None = None
    ignored: str | None = None


class ProviderOut(msgspec.Struct, kw_only=True):
    received: int
    changed: int


def _provider(name: str) -> dict[int, str]:
    """What a provider's webhook answers besides success."""
    return {
        403: "The signature or credentials are missing or wrong: nothing changed.",
        404: f"{name} feedback is not configured.",
        413: "Larger than 10 MiB.",
    }


def _services(request: Request[Any, Any, Any]) -> EmailFeedbackServices:
    services: EmailFeedbackServices = request.app.state.email_feedback
    return services


def _provider_actor(via: Via) -> Actor:
    return Actor(kind="system", id=f"email-feedback/{via}")


def _answer(outcomes: list[Outcome], head: int) -> Response[Any]:
    changed = sum(1 for o in outcomes if o.changed)
    position = max([o.position for o in outcomes], default=head)
    return written(ProviderOut(received=len(outcomes), changed=changed), position, 200)


class EmailFeedbackController(Controller):
    path = "/v1/webhooks/email"
    tags = ["webhooks"]  # noqa: RUF012 (Litestar reads it as a class attribute)
    request_max_body_size = MAX_REPORT

    @post(
        "/feedback",
        guards=[allow("service")],
        status_code=200,
        summary="A raw bounce (DSN), complaint (ARF) or unsubscribe mail, as message/rfc822",
        opt={
            "problems": {400: "The message is empty.", 413: "Over 10 MiB.", 415: "Not message/rfc822."},
            "body_types": sorted(_RAW_TYPES),
        },
    )
    async def feedback(self, request: Request[Any, Any, Any]) -> Response[FeedbackOut]:
        kind = (request.headers.get("content-type") or "").partition(";")[0].strip().lower()
        if kind not in _RAW_TYPES:
            raise ClientException("send the raw message as message/rfc822", status_code=415)
        body = await request.body()
        if not body.strip():
            raise ClientException("the message is empty")
        actor = principal_of(request).actor(request_id(request))
        outcome = await _services(request).intake.message(body, via="webhook", actor=actor, trusted=True)
        out = FeedbackOut(changed=outcome.changed, contact_id=outcome.contact_id, ignored=outcome.ignored)
        return written(out, outcome.position, 200)

    @post(
        "/ses",
        guards=[anyone],
        status_code=200,
        summary="Amazon SES notifications through SNS (signed)",
        opt={"problems": _provider("SES")},
    )
    async def ses(self, request: Request[Any, Any, Any]) -> Response[ProviderOut]:
        services = _services(request)
        if services.ses is None:
            raise NotFoundException("SES feedback is not configured")
        try:
            message = await services.ses.verify(await request.body())
            if message.type == "SubscriptionConfirmation":
                await services.ses.confirm(message)
        except SnsError as e:
            raise PermissionDeniedException(str(e)) from None
        head = await services.intake.head()
        if message.type != "Notification":
            return _answer([], head)
        events = ses_events(message.message)
        outcomes = await services.intake.provider(events, via="ses", actor=_provider_actor("ses"))
        return _answer(outcomes, head)

    @post(
        "/sendgrid",
        guards=[anyone],
        status_code=200,
        summary="SendGrid's Event Webhook (signed)",
        opt={"problems": _provider("SendGrid")},
    )
    async def sendgrid(self, request: Request[Any, Any, Any]) -> Response[ProviderOut]:
        services = _services(request)
        if services.sendgrid is None:
            raise NotFoundException("SendGrid feedback is not configured")
        body = await request.body()
        signature = request.headers.get("x-twilio-email-event-webhook-signature")
        timestamp = request.headers.get("x-twilio-email-event-webhook-timestamp")
        if not services.sendgrid.valid(signature, timestamp, body):
            raise PermissionDeniedException("the request signature is missing or wrong")
        head = await services.intake.head()
        outcomes = await services.intake.provider(
            sendgrid_events(body), via="sendgrid", actor=_provider_actor("sendgrid")
        )
        return _answer(outcomes, head)

    @post(
        "/postmark",
        guards=[anyone],
        status_code=200,
        summary="Postmark bounce and spam-complaint hooks",
        opt={"problems": {**_provider("Postmark"), 401: "The webhook credentials are missing or wrong."}},
    )
    async def postmark(self, request: Request[Any, Any, Any]) -> Response[ProviderOut]:
        services = _services(request)
        if services.postmark is None:
            raise NotFoundException("Postmark feedback is not configured")
        if not basic_auth_ok(request.headers.get("authorization"), *services.postmark):
            raise NotAuthorizedException(
                "the webhook credentials are missing or wrong",
                headers={"WWW-Authenticate": 'Basic realm="optin-ledger postmark"'},
            )
        head = await services.intake.head()
        outcomes = await services.intake.provider(
            postmark_events(await request.body()), via="postmark", actor=_provider_actor("postmark")
        )
        return _answer(outcomes, head)
