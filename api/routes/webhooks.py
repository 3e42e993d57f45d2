"""SMS provider webhooks: inbound messages (STOP, START, HELP) and delivery receipts.

Both are signed with `X-Twilio-Signature` over the public URL (`OPTIN_PUBLIC_URL` + path + query,
as the provider called it) and the form fields; a missing or wrong signature is 403 and changes
nothing. Without an SMS account configured there is nothing to receive: 404.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import structlog
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import (
    NotFoundException,
    PermissionDeniedException,
    ServiceUnavailableException,
    ValidationException,
)

from adapters import metrics
from adapters.sms.signature import valid_signature
from api.auth.guards import anyone
from api.services import Services
from ledger.address import normalise
from ledger.errors import ConflictError, InvalidValueError
from ledger.message import Message

log = structlog.get_logger(__name__)
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
_DELIVERED = frozenset({"delivered", "read"})
_UNDELIVERED = frozenset({"undelivered", "failed"})
_RECEIPT_WAIT = 3.0  # seconds a receipt may wait for the worker to record the send it reports


async def _signed_form(request: Request[Any, Any, Any], services: Services) -> dict[str, str]:
    """The form fields of a genuine provider request, else 403 (404 when SMS is not set up)."""
    settings = services.settings
    if not (settings.sms_account_sid and settings.sms_auth_token):
        raise NotFoundException("the SMS channel is not configured")
    form = await request.form()
    params = {k: str(v) for k, v in form.items()}
    query = request.scope.get("query_string", b"").decode("latin-1")
    url = settings.public_url + request.url.path + (f"?{query}" if query else "")
    signature = request.headers.get("x-twilio-signature")
    if not valid_signature(settings.sms_auth_token, url, params, signature):
        raise PermissionDeniedException("the request signature is missing or wrong")
    if params.get("AccountSid", settings.sms_account_sid) != settings.sms_account_sid:
        raise PermissionDeniedException("the request is for another account")
    return params


UnknownReceipt = Literal["no_message_id", "unknown_message", "unknown_message_sid"]


def _unknown_receipt(reason: UnknownReceipt, params: dict[str, str], message_id: UUID | None) -> None:
    """A receipt for no message of ours: counted (`optin_sms_receipts_unknown_total`) and logged."""
    metrics.receipt_unknown(reason)
    log.warning(
        "sms.receipt_unknown",
        reason=reason,
        message_id=str(message_id) if message_id else None,
        message_sid=params.get("MessageSid", "")[:64],
        status=params.get("MessageStatus", "")[:32],
    )


class WebhooksController(Controller):
    path = "/v1/webhooks/sms"
    tags = ["webhooks"]  # noqa: RUF012 (Litestar reads it as a class attribute)

    @post(
        "/inbound",
        guards=[anyone],
        status_code=200,
        summary="Inbound SMS (signed): STOP, START, HELP families",
    )
    async def inbound(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> Response[str]:
        params = await _signed_form(request, services)
        sender, body, inbound_id = params.get("From"), params.get("Body"), params.get("MessageSid")
        if not sender or body is None or not inbound_id:
            raise ValidationException("From, Body and MessageSid are required")
        try:
            address = normalise("sms", sender, default_region=services.settings.default_region)
        except InvalidValueError:  # a short code or an alphanumeric sender: nobody to opt out
            return Response(_EMPTY_TWIML, media_type="text/xml")
        await services.channels.inbound.receive(address, body, inbound_id[:64])
        # Replies go through the outbox (recorded, retried), not in this answer.
        return Response(_EMPTY_TWIML, media_type="text/xml")

    @post("/status", guards=[anyone], status_code=204, summary="Delivery receipts (signed)")
    async def status(self, request: Request[Any, Any, Any], services: NamedDependency[Services]) -> None:
        params = await _signed_form(request, services)
        try:
            message_id = UUID(request.query_params.get("message_id", ""))
        except ValueError:  # not a message of ours: acknowledged (no retries), but said and counted
            _unknown_receipt("no_message_id", params, None)
            return
        state = params.get("MessageStatus", "")
        if state not in _DELIVERED | _UNDELIVERED:
            return  # queued, sending, sent: nothing new for us
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _RECEIPT_WAIT
        while True:  # the worker may be writing this message's stream right now
            message = await services.repository.find(Message, message_id)
            if message is None:
                _unknown_receipt("unknown_message", params, message_id)
                return
            if message.provider_id is None and message.status in ("queued", "retrying"):
                # The receipt beat the worker: the provider took the message, the worker has
                # not recorded its answer yet. Wait for it (briefly) rather than lose the receipt.
                if loop.time() >= deadline:
                    raise ServiceUnavailableException(
                        "this message's send is still being recorded; try again",
                        headers={"Retry-After": "1"},
                    )
                await asyncio.sleep(0.05)
                continue
            if message.provider_id != params.get("MessageSid"):
                _unknown_receipt("unknown_message_sid", params, message_id)
                return
            message.report(state, state in _DELIVERED, params.get("ErrorCode") or None, datetime.now(UTC))
            try:
                await services.repository.save(message)
                return
            except ConflictError:
                if loop.time() >= deadline:
                    raise ServiceUnavailableException(
                        "this message is being changed; try again", headers={"Retry-After": "1"}
                    ) from None
