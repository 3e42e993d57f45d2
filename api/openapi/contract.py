"""The OpenAPI document the service serves: Litestar's, completed so that it tells the truth.

Litestar documents each handler's success answer and a generic 400. `contract(app)` adds, per
operation, every problem it can answer (`api/openapi/answers.py`) as one reusable RFC 9457
`Problem` schema, who may call it (`x-roles`, a description line and its security
requirements), and repairs what the generator gets wrong for this API: `ge=0` bounds it drops,
`null` as a query value, 204s with a body, unknown fields that are refused, and text that may
not hold NUL characters.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute

from api.openapi.answers import BODY_PROBLEMS, Answers, answers_of, kwarg_definitions
from api.openapi.problem import PROBLEM_JSON, PROBLEM_SCHEMA, problem_response
from api.openapi.schemas import forbid_unknown_fields, no_nul, not_null

SECURITY_SCHEMES = {
    "service_key": {
        "type": "http",
        "scheme": "bearer",
        "description": "An application's API key (`olk_…`), issued by an admin.",
    },
    "contact_session": {
        "type": "http",
        "scheme": "bearer",
        "description": "A contact's session token, from POST /v1/public/verifications/confirm.",
    },
}
_METHODS = ("get", "post", "put", "patch", "delete")


def _security(answers: Answers) -> list[dict[str, list[str]]]:
    if answers.kind == "anyone":
        return []
    if answers.kind == "contact":
        return [{"contact_session": []}]
    people = [r for r in answers.roles if r != "service"]
    found: list[dict[str, list[str]]] = [{"staff_login": []}, {"bearer": []}] if people else []
    return [*found, {"service_key": []}] if "service" in answers.roles else found


def _who_line(answers: Answers) -> str:
    if answers.kind == "anyone":
        return "**Who:** anyone (no credentials)."
    if answers.kind == "contact":
        return "**Who:** a contact, with their own session token."
    return f"**Who:** {', '.join(answers.roles)}."


def _responses(operation: dict[str, Any], answers: Answers, declared: set[int]) -> None:
    """Success answers as Litestar made them (a 204 without a body), Litestar's own error
    answers replaced by the problems this operation can give."""
    responses = operation.setdefault("responses", {})
    for code in list(responses):
        status = int(code)
        if status == 204:
            responses[code].pop("content", None)
        elif status >= 400 and status not in declared:
            del responses[code]
    for status, why in answers.problems.items():
        if str(status) not in responses:
            responses[str(status)] = problem_response(why)


def _parameters(operation: dict[str, Any], route: HTTPRoute, handler: Any) -> None:
    """Query parameters as a query string carries them: absent, never `null`; bounds kept."""
    definitions = kwarg_definitions(handler)
    for param in operation.get("parameters", []):
        schema = param.get("schema")
        if not isinstance(schema, dict):
            continue
        if param.get("in") != "header":
            param["schema"] = schema = not_null(schema)
        definition = definitions.get(param["name"])
        if definition is not None and definition.ge == 0 and schema.get("type") == "integer":
            schema["minimum"] = 0
        if param.get("in") != "path":
            no_nul(schema)


def _body_types(operation: dict[str, Any], media_types: list[str]) -> None:
    """A raw body the handler reads itself, in these media types (`opt={"body_types": [...]}`)."""
    if not media_types:
        return
    raw = {"schema": {"type": "string", "description": "The raw message."}}
    operation["requestBody"] = {"required": True, "content": dict.fromkeys(media_types, raw)}
    for status, why in BODY_PROBLEMS.items():
        operation["responses"].setdefault(str(status), problem_response(why))


def _answer_types(operation: dict[str, Any], media_types: list[str]) -> None:
    """A success answer the handler streams itself, in these media types
    (`opt={"answer_types": [...]}`; Litestar documents one)."""
    if not media_types:
        return
    raw = {"schema": {"type": "string", "description": "The file, streamed."}}
    for code, response in operation.get("responses", {}).items():
        if code.startswith("2"):
            response["content"] = dict.fromkeys(media_types, raw)


def _operations(app: Litestar) -> list[tuple[HTTPRoute, Any, str]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                found.append((route, handler, method.lower()))
    return found


def contract(app: Litestar) -> dict[str, Any]:
    """The completed OpenAPI document of `app`, as a dict."""
    schema = copy.deepcopy(app.openapi_schema.to_schema())
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    for route, handler, method in _operations(app):
        operation = schema["paths"][route.path_format][method]
        answers = answers_of(route, handler, operation)
        operation["x-roles"] = answers.roles
        operation["security"] = _security(answers)
        given = operation.get("description")
        operation["description"] = f"{given}\n\n{_who_line(answers)}" if given else _who_line(answers)
        _responses(operation, answers, set((handler.responses or {}).keys()))
        _body_types(operation, handler.opt.get("body_types", []))
        _answer_types(operation, handler.opt.get("answer_types", []))
        _parameters(operation, route, handler)
    forbid_unknown_fields(schema, [h for _, h, _ in _operations(app)])
    return schema


class ContractJson(JsonRenderPlugin):
    """Serves `contract(app)` at /schema/openapi.json (computed once per app)."""

    def __init__(self, path: list[str]) -> None:
        super().__init__(path=path)
        self._rendered: dict[int, bytes] = {}

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        key = id(request.app)
        if key not in self._rendered:
            self._rendered = {key: msgspec.json.encode(contract(request.app))}
        return self._rendered[key]


__all__ = ["PROBLEM_JSON", "ContractJson", "contract"]
