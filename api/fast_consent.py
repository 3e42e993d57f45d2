"""The consent check's hot path: `GET /v1/consent` answered before Litestar routes the request.

Applications ask "may I message this contact?" before every message, so this one read carries
most of the traffic; through the whole framework (routing, four middlewares, dependency
injection, guards, validation, the response pipeline) it cost about twice the Python of a bare
endpoint doing the same query. Here the common case runs the same steps directly:

- the credential, through the same `Authenticator` the authentication middleware uses;
- the route's own guard (`api/routes/consent.py` `CONSENT_READERS`), its `admits` rule;
- the same read (`projections.consent_state.known_consent_of`) on the same database the
  `read_db` dependency picks for a read without `min_position`, the same answer struct;
- behind the same request id, metrics and access log (`api/middleware.py`, around both).

Anything else falls through, untouched, to the full stack, which then answers exactly as it
always has: another parameter (`address`, `as_of`, `min_position`, …), a value not in its one
canonical spelling (percent-encoding, a UUID in braces), a missing or refused credential, a
role the guard refuses (401/403 problems), a program unknown to the read model (the 404 check),
or any error from the database (the outage answers). The fast path writes nothing and sends
nothing until it has its whole answer, so falling through never doubles a response.
`tests/api/test_fast_consent.py` checks its answers are byte-for-byte the full stack's.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from adapters import metrics
from api.auth.tokens import InvalidTokenError
from api.middleware import header
from api.routes.consent import CONSENT_READERS, answer_of
from projections.consent_state import known_consent_of

if TYPE_CHECKING:
    from litestar import Litestar

    from api.composition import Components

PATH = "/v1/consent"
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CHANNELS = frozenset({b"email", b"sms"})
_KEYS = frozenset({b"contact_id", b"optin_id", b"channel"})
_ENCODE = msgspec.json.Encoder().encode
_JSON = (b"content-type", b"application/json")


def _query(raw: bytes) -> tuple[uuid.UUID, uuid.UUID, str] | None:
    """(contact id, program id, channel) from a query string of exactly those three parameters,
    each once, in canonical form; None for anything else."""
    fields: dict[bytes, bytes] = {}
    for part in raw.split(b"&"):
        key, sep, value = part.partition(b"=")
        if not sep or key not in _KEYS or key in fields:
            return None
        fields[key] = value
    if len(fields) != 3 or fields[b"channel"] not in _CHANNELS:
        return None
    contact, program = fields[b"contact_id"], fields[b"optin_id"]
    if _UUID.fullmatch(contact) is None or _UUID.fullmatch(program) is None:
        return None
    return uuid.UUID(contact.decode()), uuid.UUID(program.decode()), fields[b"channel"].decode()


def _credential(scope: Scope) -> str | None:
    value = header(scope, b"authorization")
    if value is None or value[:7].lower() != "bearer ":
        return None
    return value[7:].strip() or None


class FastConsent:
    """An ASGI app in front of Litestar's handler: answers the common consent check itself."""

    def __init__(self, app: Litestar, full: ASGIApp) -> None:
        self.app = app
        self.full = full
        self.enabled = True
        self.answered = 0  # requests this path answered itself (tests check it takes the plain ones)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ours = scope["type"] == ScopeType.HTTP and scope["path"] == PATH and scope["method"] == "GET"
        if self.enabled and ours:
            body = await self._answer(scope)
            if body is not None:
                self.answered += 1
                await self._send(send, body)
                return
        await self.full(scope, receive, send)

    async def _answer(self, scope: Scope) -> bytes | None:
        asked = _query(scope.get("query_string", b""))
        credential = _credential(scope)
        if asked is None or credential is None:
            return None
        parts: Components = self.app.state.components
        try:
            principal = await parts.authenticator.principal_for(credential)
        except InvalidTokenError:
            return None
        if not CONSENT_READERS.admits(principal):
            return None
        db: Any = parts.replica if parts.replica is not None else parts.pool
        try:
            decision = await known_consent_of(db, *asked)
        except Exception:  # the full stack asks again and answers the failure as it does
            return None
        if decision is None:
            return None
        on_replica = parts.replica is not None and parts.replica.serving
        metrics.READ_REQUESTS.labels("replica" if on_replica else "primary").inc()
        return _ENCODE(answer_of(decision))

    async def _send(self, send: Send, body: bytes) -> None:
        length = (b"content-length", str(len(body)).encode())
        await send({"type": "http.response.start", "status": 200, "headers": [_JSON, length]})
        await send({"type": "http.response.body", "body": body, "more_body": False})
