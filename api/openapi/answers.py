"""What each operation can answer besides success, derived from what the handler declares.

One table of rules instead of a list per route: the guard gives 401/403 (and who may call), a
JSON or form body 400/413/422, query parameters 422, path parameters 404, the `caught_up` or
`read_db` dependency (`?min_position=`) 400/503, a command (a handler that records who acted) the domain's
404/409/422, and every operation that reaches the database 503. What only one handler can
answer (a webhook's signature 403, a rate limit's 429, a send blocked by consent's 409) it says
itself with `opt={"problems": {status: why}}`. The contract test and schemathesis check that
the answers given are the answers documented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg
from litestar.routes import HTTPRoute

from api.auth.guards import Guard

NO_DATABASE = frozenset({"/health"})
"""Paths answered without the database (no 503 for them)."""

AUTHENTICATION = "No credentials, or not valid ones: `detail` says which; `WWW-Authenticate` says how."
BODY_PROBLEMS = {
    400: "The body is missing, is not JSON, or is nested too deeply.",
    413: "The body is larger than this operation takes.",
    422: "A field is missing, unknown, of the wrong type or out of range, or text holds a NUL "
    "character: `errors` names each (`items[17].address: …`).",
}
QUERY_PROBLEM = "A parameter is missing, malformed or out of range: `errors` names it."
PATH_PROBLEM = "Nothing has this id."
LAG_PROBLEMS = {
    400: "`min_position` is beyond the end of the ledger (`ledger_position` says where it ends).",
    503: "The read models have not reached `min_position` within 2 s: try again after `Retry-After`.",
}
COMMAND_PROBLEMS = {
    404: "Something the request names does not exist.",
    409: "Not allowed in the current state, or a concurrent change came first: `detail` says which.",
    422: "A value the ledger refuses: `detail` says why.",
}
UNAVAILABLE = "The database is unavailable or overloaded: try again after `Retry-After`."


@dataclass(frozen=True)
class Answers:
    """Who may call an operation and the problems it can answer (status → when)."""

    roles: list[str]
    kind: str  # "anyone", "contact" or "staff": which credentials the operation takes
    problems: dict[int, str] = field(default_factory=dict)


def _who(guard: Guard) -> tuple[list[str], str]:
    if guard.public:
        return ["anyone"], "anyone"
    if guard.contact:
        return ["contact"], "contact"
    order = ["admin", "staff", "auditor", "service"]
    return sorted(guard.roles, key=order.index), "staff"


def forbidden(roles: list[str]) -> str:
    """The 403 wording, naming the roles that may do it (the guard answers with the same list)."""
    if roles == ["contact"]:
        return "Only a contact's own session may do this."
    return f"Your role may not do this: only {', '.join(roles)} may."


def _guard(handler: HTTPRouteHandler) -> Guard:
    guards = [getattr(g, "func", g) for g in handler.resolve_guards()]
    found = [g for g in guards if isinstance(g, Guard)]
    if len(found) != 1:
        raise ValueError(f"{handler.handler_name}: declares {guards!r}, not exactly one Guard")
    return found[0]


def kwarg_definitions(handler: HTTPRouteHandler) -> dict[str, ParameterKwarg]:
    """Every parameter the operation reads (its own and its dependencies'), by name."""
    found: dict[str, ParameterKwarg] = {}
    signatures = [handler.parsed_fn_signature]
    for name, provider in handler.resolve_dependencies().items():
        if name in handler.parsed_fn_signature.parameters and hasattr(provider, "parsed_fn_signature"):
            signatures.append(provider.parsed_fn_signature)
    for signature in signatures:
        for name, param in signature.parameters.items():
            if isinstance(param.kwarg_definition, ParameterKwarg):
                found[param.kwarg_definition.query or name] = param.kwarg_definition
    return found


def _add(problems: dict[int, str], more: dict[int, str]) -> None:
    """Add `more`; where a status is already there, both reasons stand."""
    for status, why in more.items():
        problems[status] = f"{problems[status]} Or: {why}" if status in problems else why


def answers_of(route: HTTPRoute, handler: HTTPRouteHandler, operation: dict[str, Any]) -> Answers:
    """The rules above applied to one operation (its schema `operation` says which parameters
    and body it has, as Litestar documented them)."""
    roles, kind = _who(_guard(handler))
    problems: dict[int, str] = {}
    if kind != "anyone":
        _add(problems, {401: AUTHENTICATION, 403: forbidden(roles)})
    if "requestBody" in operation:
        _add(problems, BODY_PROBLEMS)
    places = {p.get("in") for p in operation.get("parameters", [])}
    if "query" in places or "header" in places:
        _add(problems, {422: QUERY_PROBLEM})
    if route.path_parameters:
        _add(problems, {404: PATH_PROBLEM})
    params = handler.parsed_fn_signature.parameters
    if "caught_up" in params or "read_db" in params:  # both take `min_position` and wait
        _add(problems, LAG_PROBLEMS)
    if "actor" in params:
        _add(problems, COMMAND_PROBLEMS)
    if route.path not in NO_DATABASE:
        _add(problems, {503: UNAVAILABLE})
    _add(problems, handler.opt.get("problems", {}))
    return Answers(roles=roles, kind=kind, problems=dict(sorted(problems.items())))
