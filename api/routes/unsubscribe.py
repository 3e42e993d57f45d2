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
from api.services import Services, client_of
from ledger.errors import NotFoundError
from ledger.program import Program

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
    tags = ["unsubscribe"]  # noqa: RUF012 (Litestar reads it as a class attribute)
    include_in_schema = False

    @get("/{token:str}", guards=[anyone], summary="Unsubscribe page (changes nothing)")
    async def confirm_page(self, token: FromPath[str], services: NamedDependency[Services]) -> Response[str]:
        found = await _resolve(services, token)
        if found is None:
            return _gone()
        _, program = found
        forms = _FORMS.format(program=html.escape(program.name), token=html.escape(token))
        return _page("Unsubscribe", forms)

    @post("/{token:str}", guards=[anyone], status_code=200, summary="Unsubscribe at once (one-click)")
    async def unsubscribe(
        self, request: Request[Any, Any, Any], token: FromPath[str], services: NamedDependency[Services]
    ) -> Response[str]:
        found = await _resolve(services, token)
        if found is None:
            return _gone()
        contact_id, program = found
        everything = request.query_params.get("scope") == "all"
        service = services.channels.unsubscribe
        try:
            if everything:
                position = await service.from_everything(contact_id, client_of(request))
            else:
                position = await service.from_program(contact_id, program.id, client_of(request))
        except NotFoundError:
            return _gone()
        what = "all email" if everything else html.escape(program.name)
        response = _page(
            "Unsubscribed", f"<p>You are unsubscribed from {what}. Nothing more will be sent.</p>"
        )
        response.headers["Ledger-Position"] = str(position)
        return response


async def _resolve(services: Services, token: str) -> tuple[UUID, Program] | None:
    try:
        contact_id, optin_id = services.channels.tokens.verify(token)
    except InvalidTokenError:
        return None
    program = await services.repository.find(Program, optin_id)
    if program is None or await services.contacts.keys.get(contact_id) is None:
        return None  # an erased contact: nothing left to opt out
    return contact_id, program
