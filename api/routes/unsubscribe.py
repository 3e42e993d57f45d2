"""`/u/{token}`: the unsubscribe link of every marketing email (RFC 8058).

GET only shows a page (link scanners and prefetchers change nothing) with two buttons: this
program, or every email. POST opts out at once: a mail client's one-click POST (body
`List-Unsubscribe=One-Click`) or the page's form (`scope=all` for everything). The token is the
authority, so no session or CSRF token is needed; it can only ever opt its one contact out.
"""

from __future__ import annotations

import html
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from api.auth.guards import anyone
from api.auth.tokens import InvalidTokenError
from api.auth.unsubscribe_tokens import UnsubscribeTokens
from api.dependencies import components
from ledger.application.evidence import Client
from ledger.application.unsubscribe import Unsubscribe

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><main>
<h1>{title}</h1>
{content}
</main></body></html>
"""
_FORMS = """<p>Stop receiving <strong>{program}</strong> by email?</p>
<form method="post" action="/u/{token}"><button type="submit">Unsubscribe from {program}</button></form>
<form method="post" action="/u/{token}?scope=all">
<button type="submit">Unsubscribe from all email</button></form>
"""


def _page(title: str, content: str, status: int = 200) -> Response[str]:
    body = _PAGE.format(title=html.escape(title), content=content)
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return Response(body, status_code=status, media_type="text/html", headers=headers)


def _gone() -> Response[str]:
    return _page("Link not valid", "<p>This unsubscribe link is not valid (any more).</p>", 404)


class UnsubscribeController(Controller):
    path = "/u"
    tags = ("unsubscribe",)
    include_in_schema = False
    dependencies = components("unsubscribe", "tokens")

    @get("/{token:str}", guards=[anyone], summary="Unsubscribe page (changes nothing)")
    async def confirm_page(
        self,
        token: FromPath[str],
        unsubscribe: NamedDependency[Unsubscribe],
        tokens: NamedDependency[UnsubscribeTokens],
    ) -> Response[str]:
        found = _signed(tokens, token)
        program = await unsubscribe.program_of(*found) if found else None
        if program is None:
            return _gone()
        forms = _FORMS.format(program=html.escape(program.name), token=html.escape(token))
        return _page("Unsubscribe", forms)

    @post("/{token:str}", guards=[anyone], status_code=200, summary="Unsubscribe at once (one-click)")
    async def unsubscribe(
        self,
        request: Request[Any, Any, Any],
        token: FromPath[str],
        unsubscribe: NamedDependency[Unsubscribe],
        tokens: NamedDependency[UnsubscribeTokens],
        client: NamedDependency[Client],
    ) -> Response[str]:
        found = _signed(tokens, token)
        everything = request.query_params.get("scope") == "all"
        done = await unsubscribe.by_link(*found, client, everything=everything) if found else None
        if done is None:
            return _gone()
        program, position = done
        what = "all email" if everything else html.escape(program.name)
        response = _page(
            "Unsubscribed", f"<p>You are unsubscribed from {what}. Nothing more will be sent.</p>"
        )
        response.headers["Ledger-Position"] = str(position)
        return response


def _signed(tokens: UnsubscribeTokens, token: str) -> tuple[UUID, UUID] | None:
    """The (contact, program) a genuine link names; None for anything else."""
    try:
        return tokens.verify(token)
    except InvalidTokenError:
        return None
