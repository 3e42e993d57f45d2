"""The one problem schema (RFC 9457) every error answer of the API refers to."""

from __future__ import annotations

from typing import Any

PROBLEM_JSON = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details. The title is the status's standard phrase; `detail` "
    "says what went wrong; validation problems list each error in `errors`. Other members may "
    "follow (`ledger_position`, `retry_after`, `reason`, `outcome`, `attempts_left`…).",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "`about:blank`: the status says it all."},
        "title": {"type": "string", "examples": ["Not Found"]},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "One entry per invalid field or parameter.",
            "items": {
                "type": "object",
                "required": ["key", "source", "message"],
                "properties": {
                    "key": {"type": "string", "examples": ["items[17].address"]},
                    "source": {"type": "string", "examples": ["body", "query"]},
                    "message": {"type": "string", "examples": ["items[17].address: Expected `str`"]},
                },
            },
        },
    },
    "additionalProperties": True,
}


def problem_response(description: str) -> dict[str, Any]:
    """A response object: `description`, and the Problem schema as application/problem+json."""
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
