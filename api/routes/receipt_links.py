"""The receipt link a contact is sent after an opt-in or opt-out: `/r/{token}` shows the receipts in
plain words; `/v1/public/receipts/{token}` gives them as JSON, and `…/{position}` one signed
receipt as a file (`application/jose`) that `optin-ledger evidence verify` checks offline.

The token is the authority (`api/auth/receipt_links.py`): it names the message that carried the
link and can show nothing but the receipts that message links to; anything else is a 404, as is
a link whose contact was erased since.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from adapters.postgres.transparency_log import NoSigningKeyError
from api.auth.guards import anyone
from api.auth.receipt_links import ReceiptLinkTokens
from api.auth.tokens import InvalidTokenError
from api.dependencies import components
from api.evidence import Evidence, Receipt
from api.routes.ledger import LEDGER_ERRORS
from ledger.application.consent_receipts import ConsentReceipts
from ledger.errors import NotFoundError

RECEIPT_DEPENDENCIES = components("receipt_links", "consent_receipts", "evidence")
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><main>
<h1>{title}</h1>
{content}
</main></body></html>
"""
_RECEIPT = """<section>
<h2>You {change} {service}</h2>
<dl>
<dt>When</dt><dd>{when}</dd>
<dt>How</dt><dd>{method}</dd>
<dt>Channel</dt><dd>{channel}</dd>
<dt>Receipt</dt><dd>{receipt_id}, event {position} of the ledger {origin}</dd>
</dl>
<p><a href="/v1/public/receipts/{token}/{position}" download="receipt-{position}.jws">Download the
signed receipt</a>. Anyone can check it against the ledger's public key:</p>
<pre>optin-ledger evidence verify receipt-{position}.jws --key "$(curl -s {public}/v1/ledger/key)"</pre>
</section>
"""


async def linked_receipts(
    token: str, links: ReceiptLinkTokens, consent_receipts: ConsentReceipts, evidence: Evidence
) -> list[Receipt]:
    """The signed receipts the link's message links to; `NotFoundError` for any other link."""
    try:
        message_id = links.verify(token)
    except InvalidTokenError:
        raise NotFoundError("no receipt behind this link") from None
    carried = await consent_receipts.carried_by(message_id)
    if carried is None:
        raise NotFoundError("no receipt behind this link")
    contact_id, positions = carried
    found = [await evidence.receipt_at(position) for position in positions]
    return [r for r in found if r is not None and r.receipt["piiPrincipalId"] == str(contact_id)]


@get(
    "/v1/public/receipts/{token:str}",
    guards=[anyone],
    dependencies=RECEIPT_DEPENDENCIES,
    exception_handlers=LEDGER_ERRORS,  # type: ignore[arg-type]
    tags=["contact self-service"],
    summary="The signed consent receipts a receipt link names (the link is the authority)",
)
async def receipts_by_link(
    token: FromPath[str],
    receipt_links: NamedDependency[ReceiptLinkTokens],
    consent_receipts: NamedDependency[ConsentReceipts],
    evidence: NamedDependency[Evidence],
) -> Response[list[Receipt]]:
    found = await linked_receipts(token, receipt_links, consent_receipts, evidence)
    return Response(found, headers=_HEADERS)


@get(
    "/v1/public/receipts/{token:str}/{position:int}",
    guards=[anyone],
    dependencies=RECEIPT_DEPENDENCIES,
    exception_handlers=LEDGER_ERRORS,  # type: ignore[arg-type]
    tags=["contact self-service"],
    summary="One signed consent receipt as a compact JWS file (application/jose)",
    media_type="application/jose",
)
async def receipt_file(
    token: FromPath[str],
    position: FromPath[int],
    receipt_links: NamedDependency[ReceiptLinkTokens],
    consent_receipts: NamedDependency[ConsentReceipts],
    evidence: NamedDependency[Evidence],
) -> Response[str]:
    found = await linked_receipts(token, receipt_links, consent_receipts, evidence)
    jws = next((r.jws for r in found if r.position == position), None)
    if jws is None:
        raise NotFoundError("this link names no receipt at that position")
    headers = _HEADERS | {"Content-Disposition": f'attachment; filename="receipt-{position}.jws"'}
    return Response(jws, media_type="application/jose", headers=headers)


@get("/r/{token:str}", guards=[anyone], dependencies=RECEIPT_DEPENDENCIES, include_in_schema=False)
async def receipt_page(
    token: FromPath[str],
    receipt_links: NamedDependency[ReceiptLinkTokens],
    consent_receipts: NamedDependency[ConsentReceipts],
    evidence: NamedDependency[Evidence],
) -> Response[str]:
    try:
        found = await linked_receipts(token, receipt_links, consent_receipts, evidence)
    except NotFoundError:
        return _page("Link not valid", "<p>This receipt link is not valid (any more).</p>", 404)
    except NoSigningKeyError:
        return _page("Not available", "<p>Receipts cannot be shown right now.</p>", 503)
    if not found:
        return _page("Your receipt", "<p>This message confirmed no change to a subscription.</p>")
    base = html.escape(receipt_links.base)
    sections = "".join(_section(r.receipt, token, base) for r in found)
    return _page("Your consent receipt" if len(found) == 1 else "Your consent receipts", sections)


def _section(claims: dict[str, Any], token: str, public: str) -> str:
    services = claims.get("services") or [{}]
    when = datetime.fromtimestamp(int(claims.get("consentTimestamp", 0)), UTC)
    return _RECEIPT.format(
        change="opted in to" if claims.get("consentStatus") == "opted_in" else "opted out of",
        service=html.escape(str(services[0].get("service", ""))),
        when=when.strftime("%d %B %Y, %H:%M:%S UTC"),
        method=html.escape(str(claims.get("collectionMethod", ""))),
        channel="SMS" if claims.get("channel") == "sms" else "email",
        receipt_id=html.escape(str(claims.get("consentReceiptID", ""))),
        position=int(claims["ledgerPosition"]),
        origin=html.escape(str(claims.get("ledgerOrigin", ""))),
        token=html.escape(token),
        public=public,
    )


def _page(title: str, content: str, status: int = 200) -> Response[str]:
    body = _PAGE.format(title=html.escape(title), content=content)
    return Response(body, status_code=status, media_type="text/html", headers=_HEADERS)


HANDLERS = (receipts_by_link, receipt_file, receipt_page)
