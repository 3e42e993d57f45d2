"""SMS through Twilio's Messages REST API (or any server speaking it), over httpx.

The message id goes as the `Idempotency-Key` header, and in the status callback URL so receipts
find their message. Failures are sorted: timeouts, 429, 5xx and credential errors are retried
(an operator can fix credentials); other 4xx answers (invalid or unsubscribed number) are not.
The provider's error code is kept in clear (21610: the number replied STOP to the provider's own
opt-out handling), its message only scrubbed, logged and sealed. `probe` reads the account.
"""

from __future__ import annotations

from typing import NoReturn

import httpx
import structlog

from ledger.masking import scrub
from ledger.ports import Outgoing
from ledger.send_failure import FailureCategory, SendError

log = structlog.get_logger(__name__)
_RETRYABLE = frozenset({401, 403, 408, 409, 425, 429})
_OPTED_OUT = frozenset({"21610"})
_BAD_NUMBER = frozenset({"21211", "21408", "21612", "21614", "21217", "21606"})


class SmsSetupError(Exception):
    """The SMS account cannot be used as configured; the message says what to change."""


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
        try:
            return await self._post(outgoing)
        except SendError as e:
            log.warning(
                "sms.send_failed",
                message_id=str(outgoing.message_id),
                category=e.category,
                code=e.code,
                permanent=e.permanent,
                detail=str(e),
            )
            raise

    async def _post(self, outgoing: Outgoing) -> str:
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
            raise SendError(f"SMS API unreachable: {scrub(str(e)) or type(e).__name__}",
                            category="unreachable") from None  # fmt: skip
        if response.status_code in (200, 201):
            try:
                return str(response.json()["sid"])
            except (ValueError, KeyError, TypeError):
                raise SendError("SMS API answered without a message sid") from None
        return _refused(response, outgoing.to)

    async def probe(self) -> str:
        """Read the account (an authenticated GET): what it is, or `SmsSetupError`."""
        try:
            response = await self._client.get(
                f"/2010-04-01/Accounts/{self._sid}.json", auth=(self._sid, self._token)
            )
        except httpx.HTTPError as e:
            raise SmsSetupError(
                f"cannot reach the SMS API at OPTIN_SMS_API_URL={self._client.base_url} "
                f"({e or type(e).__name__})"
            ) from None
        code, words = _error(response)
        if response.status_code in (401, 403):
            raise SmsSetupError(
                f"the SMS API refused OPTIN_SMS_ACCOUNT_SID / OPTIN_SMS_AUTH_TOKEN "
                f"({response.status_code}, error {code}: {words})"
            )
        if response.status_code != 200:
            raise SmsSetupError(f"the SMS API answered {response.status_code} for the account ({words})")
        body = response.json()
        status = body.get("status", "active") if isinstance(body, dict) else "active"
        if status != "active":
            raise SmsSetupError(f"the SMS account is {status}, not active")
        return f"SMS account {self._sid[:6]}… at {self._client.base_url} (active), from {self._sender}"


def _refused(response: httpx.Response, recipient: str) -> NoReturn:
    code, words = _error(response, recipient)
    status = response.status_code
    retry = status >= 500 or status in _RETRYABLE
    category: FailureCategory = (
        "recipient_opted_out" if code in _OPTED_OUT
        else "recipient_refused" if code in _BAD_NUMBER
        else "auth_refused" if status in (401, 403)
        else "deferred" if status == 429
        else "provider_error" if retry
        else "rejected"
    )  # fmt: skip
    detail = f"SMS API answered {status}" + (f" (error {code}: {words})" if code or words else "")
    raise SendError(detail, permanent=not retry, category=category, code=code or str(status))


def _error(response: httpx.Response, *known: str) -> tuple[str | None, str]:
    """The provider's error code and message (masked: it may quote the number)."""
    try:
        body = response.json()
    except ValueError:
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    code, message = body.get("code"), body.get("message")
    return (str(code) if code else None), scrub(str(message or ""), *known)[:200]
