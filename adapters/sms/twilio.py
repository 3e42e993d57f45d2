"""SMS through Twilio's Messages REST API (or any server speaking it), over httpx.

The message id goes as the `Idempotency-Key` header, and in the status callback URL so receipts
find their message. Failures are sorted: timeouts, 429, 5xx and credential errors are retried
(an operator can fix credentials); other 4xx answers (invalid or unsubscribed number) are not,
and an unsubscribed recipient (error 21610) is reported as such, so the ledger records it.
"""

from __future__ import annotations

import httpx

from ledger.masking import scrub
from ledger.ports import Outgoing, SendError

_RETRYABLE = frozenset({401, 403, 408, 409, 425, 429})
UNSUBSCRIBED_RECIPIENT = 21610
"""Twilio's error for a recipient who replied STOP to the sending number: the carrier refuses
every message to them until they reply START."""


class TwilioSender:
    """`ledger.application.dispatch.Sender` for the SMS channel."""

    name = "twilio"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        status_callback: str | None,
    ) -> None:
        self._client = client
        self._sid = account_sid
        self._token = auth_token
        self._sender = sender
        self._callback = status_callback

    async def send(self, outgoing: Outgoing) -> str:
        data = {"To": outgoing.to, "Body": outgoing.text}
        # A Messaging Service id (MG…) lets the provider pick the number; else it is the number.
        data["MessagingServiceSid" if self._sender.startswith("MG") else "From"] = self._sender
        if self._callback:
            data["StatusCallback"] = f"{self._callback}?message_id={outgoing.message_id}"
        try:
            response = await self._client.post(
                f"/2010-04-01/Accounts/{self._sid}/Messages.json",
                data=data,
                auth=(self._sid, self._token),
                headers={"Idempotency-Key": str(outgoing.message_id)},
            )
        except httpx.HTTPError as e:
            raise SendError(f"SMS API unreachable: {type(e).__name__}") from None
        if response.status_code in (200, 201):
            try:
                return str(response.json()["sid"])
            except (ValueError, KeyError, TypeError):
                raise SendError("SMS API answered without a message sid") from None
        reason = f"SMS API answered {response.status_code}{_detail(response)}"
        retry = response.status_code >= 500 or response.status_code in _RETRYABLE
        unsubscribed = _error_code(response) == UNSUBSCRIBED_RECIPIENT
        raise SendError(reason, permanent=not retry, recipient_opted_out=unsubscribed)


def _body(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_code(response: httpx.Response) -> int | None:
    code = _body(response).get("code")
    return code if isinstance(code, int) else None


def _detail(response: httpx.Response) -> str:
    body = _body(response)
    code, message = body.get("code"), body.get("message")
    # Provider messages may quote the number: masked before they reach any event or log.
    return f" (error {code}: {scrub(str(message))[:200]})" if code or message else ""
