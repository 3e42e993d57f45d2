"""`/u/{token}`: the unsubscribe link of every marketing email (RFC 8058).

GET only shows a page (link scanners and prefetchers change nothing) with two buttons: this
program, or every email. POST opts out at once: a mail client's one-click POST (body
`List-Unsubscribe=One-Click`) or the page's form (`scope=all` for everything). The token is the
authority, so no session or CSRF token is needed; it can only ever opt its one contact out.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from api.auth.guards import anyone
from api.auth.tokens import InvalidTokenError
from api.auth.unsubscribe_tokens import UnsubscribeTokens
from api.dependencies import components
from api.web.errors import PAGE_ERRORS
from api.web.rendering import page
from api.web.security import PAGE_OPT
from ledger.application.evidence import Client
from ledger.application.unsubscribe import Unsubscribe


def _gone(request: Request[Any, Any, Any]) -> Response[Any]:
    return page(request, "contact/unsubscribe.html", status=404, title="This link does not work", step="gone")


class UnsubscribeController(Controller):
    path = "/u"
    tags = ("unsubscribe",)
    include_in_schema = False
    dependencies = components("unsubscribe", "tokens")
    opt: Mapping[str, Any] | None = MappingProxyType({PAGE_OPT: True})  # the pages' security headers
    exception_handlers = PAGE_ERRORS

    @get("/{token:str}", guards=[anyone], summary="Unsubscribe page (changes nothing)")
    async def confirm_page(
        self,
        request: Request[Any, Any, Any],
        token: FromPath[str],
        unsubscribe: NamedDependency[Unsubscribe],
        tokens: NamedDependency[UnsubscribeTokens],
    ) -> Response[Any]:
        found = _signed(tokens, token)
        program = await unsubscribe.program_of(*found) if found else None
        if program is None:
            return _gone(request)
        return _page(request, "confirm", program.name, token)

    @post("/{token:str}", guards=[anyone], status_code=200, summary="Unsubscribe at once (one-click)")
    async def unsubscribe(
        self,
        request: Request[Any, Any, Any],
        token: FromPath[str],
        unsubscribe: NamedDependency[Unsubscribe],
        tokens: NamedDependency[UnsubscribeTokens],
        client: NamedDependency[Client],
    ) -> Response[Any]:
        found = _signed(tokens, token)
        everything = request.query_params.get("scope") == "all"
        done = await unsubscribe.by_link(*found, client, everything=everything) if found else None
        if done is None:
            return _gone(request)
        program, position = done
        response = _page(request, "all" if everything else "done", program.name, token, program.id)
        response.headers["Ledger-Position"] = str(position)
        return response


def _page(
    request: Request[Any, Any, Any], step: str, program: str, token: str, optin_id: UUID | None = None
) -> Response[Any]:
    """The link carries a token, so no referrer may leak it: `no-referrer` overrides the pages'
    usual `same-origin`."""
    titles = {"confirm": "Unsubscribe", "done": "You are unsubscribed", "all": "You are unsubscribed"}
    response = page(
        request,
        "contact/unsubscribe.html",
        title=titles[step],
        step=step,
        program=program,
        token=token,
        optin_id=optin_id,
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _signed(tokens: UnsubscribeTokens, token: str) -> tuple[UUID, UUID] | None:
    """The (contact, program) a genuine link names; None for anything else."""
    try:
        return tokens.verify(token)
    except InvalidTokenError:
        return None
