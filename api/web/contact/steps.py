"""The two steps every contact page shares: "send me a code", then "here is my code".

They call the same self-service functions as `/v1/public/*` (`api/self_service.py`): the same
rate limits, the same answer whether or not the address is known, the same code check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency, Provide

from adapters.postgres.replica import ReadDatabase
from adapters.settings import Settings
from api.auth.principal import Principal
from api.auth.tokens import CONTACT_TOKEN_TTL, issue_contact_token
from api.web.cookies import CONTACT, PENDING, clear_cookie, cookie_name, set_cookie
from api.web.pending import PENDING_TTL, open_pending, seal_pending
from ledger.address import Address
from ledger.application.contacts import ContactRegistry
from ledger.application.evidence import Client
from ledger.application.self_service import SelfService
from ledger.errors import InvalidValueError
from ledger.vocabulary import Channel


@dataclass(frozen=True, slots=True)
class ContactPages:
    """What the contact pages use: the self-service use cases, contacts, read models (`pool`: the
    request's `read_db`, the primary's when the request writes), settings."""

    self_service: SelfService
    contacts: ContactRegistry
    pool: ReadDatabase
    settings: Settings


def provide_pages(state: State, read_db: NamedDependency[ReadDatabase]) -> ContactPages:
    parts = state.components
    return ContactPages(parts.self_service, parts.contacts, read_db, parts.settings)


PAGES = {"pages": Provide(provide_pages, sync_to_thread=False)}


class AddressForm(msgspec.Struct, kw_only=True):
    """Form fields arrive as text; unknown fields (the CSRF token) are ignored."""

    channel: str = "email"
    address: str = ""
    action: str = "opt_in"
    disclosure_version: str = ""


EXPIRED = "That code step expired. Enter your address again for a new code."


class CodeForm(msgspec.Struct, kw_only=True):
    code: str = ""
    action: str = "opt_in"
    disclosure_version: str = ""


def channel_of(value: str, allowed: tuple[str, ...] | list[str] = ("email", "sms")) -> Channel:
    if value not in allowed or value not in ("email", "sms"):
        raise InvalidValueError("choose email or text message")
    return "email" if value == "email" else "sms"


async def start(
    request: Request[Any, Any, Any], pages: ContactPages, channel: Channel, raw: str, client: Client
) -> tuple[Address, Cookie]:
    """Send a code (rate-limited like the API); the address goes into the sealed pending cookie."""
    address = pages.contacts.address(channel, raw)
    await pages.self_service.send_code(address, client)
    settings = pages.settings
    return address, set_cookie(settings, PENDING, seal_pending(settings.token_key, address), PENDING_TTL)


def pending_address(request: Request[Any, Any, Any], settings: Settings) -> Address | None:
    return open_pending(settings.token_key, request.cookies.get(cookie_name(settings, PENDING)))


async def resend(
    request: Request[Any, Any, Any], pages: ContactPages, client: Client
) -> tuple[Address, Cookie]:
    """ "Send a new code" to the address of this browser's code step (`InvalidValueError` when
    that step expired); rate-limited like the first code."""
    address = pending_address(request, pages.settings)
    if address is None:
        raise InvalidValueError(EXPIRED)
    return await start(request, pages, address.channel, address.value, client)


def entered(request: Request[Any, Any, Any], settings: Settings, form: AddressForm | None) -> AddressForm:
    """What the address form shows: what was just typed, else the address of this browser's own
    code step ("change address" comes back to it), else nothing."""
    if form is not None:
        return form
    pending = pending_address(request, settings)
    if pending is None:
        return AddressForm()
    return AddressForm(channel=pending.channel, address=pending.value)


async def finish(pages: ContactPages, address: Address, code: str) -> tuple[UUID, UUID, list[Cookie]]:
    """Check the code; on success (contact, the verification that proved it, cookies) where the
    contact's session cookie replaces the pending one."""
    if not code.strip().isdigit() or len(code.strip()) != 6:
        raise InvalidValueError("the code is the 6 digits in the message we sent")
    contact_id, proof = await pages.self_service.confirm_code(address, code)
    settings = pages.settings
    token = issue_contact_token(settings.token_key, contact_id, verification_id=proof)
    return (
        contact_id,
        proof,
        [
            set_cookie(settings, CONTACT, token, CONTACT_TOKEN_TTL),
            clear_cookie(settings, PENDING),
        ],
    )


def signed_in(request: Request[Any, Any, Any]) -> UUID | None:
    """The contact whose session cookie came with this request, if any."""
    user = request.scope.get("user")
    return user.contact_id if isinstance(user, Principal) and user.kind == "contact" else None


def session_proof(request: Request[Any, Any, Any]) -> UUID | None:
    """The verification the contact's session rests on: the evidence for changes made in it."""
    user = request.scope.get("user")
    return user.verification_id if isinstance(user, Principal) else None


def shown_version(form_value: str) -> int | None:
    return int(form_value) if form_value.isdigit() else None


def sentence(error: Exception) -> str:
    """An error's message as a sentence a person reads."""
    text = str(error).strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
