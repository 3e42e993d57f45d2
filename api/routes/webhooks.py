"""SMS provider webhooks: inbound messages (STOP, START, HELP) and delivery receipts.

Both are signed with `X-Twilio-Signature` over the public URL (`OPTIN_PUBLIC_URL` + path + query,
as the provider called it) and the form fields; a missing or wrong signature is 403 and changes
nothing. Without an SMS account configured there is nothing to receive: 404.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import structlog
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException

from adapters import metrics
from adapters.settings import Settings
from adapters.sms.signature import valid_signature
from api.auth.guards import anyone
from api.dependencies import components
from ledger.application.inbound_sms import InboundSms
from ledger.application.receipts import DeliveryReceipts

log = structlog.get_logger(__name__)
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _signed_form(request: Request[Any, Any, Any], settings: Settings) -> dict[str, str]:
    """The form fields of a genuine provider request, else 403 (404 when SMS is not set up)."""
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


SIGNED = {
    403: "The signature is missing or wrong: nothing changed.",
    404: "The SMS channel is not configured.",
}


class WebhooksController(Controller):
    path = "/v1/webhooks/sms"
    tags = ("webhooks",)
    dependencies = components("settings", "inbound", "receipts")

    @post(
        "/inbound",
        guards=[anyone],
        status_code=200,
        media_type="text/xml",
        summary="Inbound SMS (signed): STOP, START, HELP families",
        opt={"problems": {**SIGNED, 422: "From, Body or MessageSid is missing."}},
    )
    async def inbound(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        inbound: NamedDependency[InboundSms],
    ) -> Response[str]:
        params = await _signed_form(request, settings)
        sender, body, inbound_id = params.get("From"), params.get("Body"), params.get("MessageSid")
        if not sender or body is None or not inbound_id:
            raise ValidationException("From, Body and MessageSid are required")
        await inbound.receive_text(sender, body, inbound_id)
        # Replies go through the outbox (recorded, retried), not in this answer.
        return Response(_EMPTY_TWIML, media_type="text/xml")

    @post(
        "/status",
        guards=[anyone],
        status_code=204,
        summary="Delivery receipts (signed)",
        opt={"problems": SIGNED},
    )
    async def status(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        receipts: NamedDependency[DeliveryReceipts],
    ) -> None:
        params = await _signed_form(request, settings)
        try:
            message_id = UUID(request.query_params.get("message_id", ""))
        except ValueError:  # not a message of ours: acknowledged (no retries), but said and counted
            _unknown_receipt("no_message_id", params, None)
            return
        state = params.get("MessageStatus", "")
        unknown = await receipts.record(
            message_id, params.get("MessageSid"), state, params.get("ErrorCode") or None
        )
        if unknown is not None:
            _unknown_receipt(unknown, params, message_id)
