"""The two steps every contact page shares: "send me a code", then "here is my code".

They call the same self-service functions as `/v1/public/*` (`api/self_service.py`): the same
rate limits, the same answer whether or not the address is known, the same code check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Request
from litestar.datastructures import Cookie, State
from litestar.di import Provide

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
    """What the contact pages use: the self-service use cases, contacts, read models, settings."""

    self_service: SelfService
    contacts: ContactRegistry
    pool: asyncpg.Pool
    settings: Settings


def provide_pages(state: State) -> ContactPages:
    parts = state.components
    return ContactPages(parts.self_service, parts.contacts, parts.pool, parts.settings)


PAGES = {"pages": Provide(provide_pages, sync_to_thread=False)}


class AddressForm(msgspec.Struct, kw_only=True):
    """Form fields arrive as text; unknown fields (the CSRF token) are ignored."""

    channel: str = "email"
    address: str = ""
    action: str = "opt_in"
    disclosure_version: str = ""


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
