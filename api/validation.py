"""Validation problems that name what is wrong: each entry of `errors` says where (`items[17].address`,
`limit`), in what part of the request (`body`, `query`, `path`) and why, and so does `detail`.

Litestar reports a body that does not decode into its type with keys such as `data` (the whole
body) or `items[0]` plus msgspec's message; this module turns those into the names a client
sent, and gives handlers one way (`invalid`) to refuse a value the schema cannot express.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from litestar.exceptions import ClientException, ValidationException

from ledger.masking import scrub

_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<name>[^`]*)`")
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<name>[^`]*)`")
_WHOLE_BODY = "data"
NO_BODY = "the request needs a JSON body"


def invalid(key: str, message: str, source: str = "query") -> ValidationException:
    """A 422 problem naming one parameter or body field (`source`: query, body or path)."""
    return ValidationException(message, extra=[{"key": key, "source": source, "message": message}])


def bad_request(key: str, message: str, source: str = "query", **extra: Any) -> ClientException:
    """A 400 problem naming one parameter: a value no request could ever make sense of."""
    error = {"key": key, "source": source, "message": f"{key}: {message}"}
    return ClientException(f"{key}: {message}", status_code=400, extra={"errors": [error], **extra})


DATE_TIME = {"format": "date-time"}
"""`schema_extra` of a date-time query parameter taken as text (see `instant`)."""


def instant(key: str, text: str | None, *, zone: bool = False) -> datetime | None:
    """An RFC 3339 date-time query value, else 422 naming `key` (Litestar's own conversion would
    also take `0.5` as a Unix time). `zone`: the value must say its time zone."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise invalid(key, "not a date-time (for example 2026-01-31T12:00:00Z)") from None
    if zone and value.tzinfo is None:
        raise invalid(key, "needs a time zone (for example 2026-01-31T12:00:00Z)")
    return value


def entry(raw: dict[str, Any]) -> dict[str, str]:
    """One error as this API words it: `{key, source, message}`, the message led by the key."""
    key = str(raw.get("key") or "")
    given = raw.get("source") or "body"
    source = str(getattr(given, "value", given))  # Litestar's ParamType enum, or a plain string
    message = str(raw.get("message") or "invalid value")
    if source == "body":
        key, message = _body_error(key, message)
    if key and not message.startswith(f"{key}: "):
        message = f"{key}: {message}"
    return {"key": key, "source": source, "message": scrub(message)}


def _body_error(key: str, message: str) -> tuple[str, str]:
    """Litestar's body keys (`data`, `data.items[0]` already shortened to `items[0]`) as field names."""
    if key == _WHOLE_BODY and message.strip("'\"") == _WHOLE_BODY:
        return "body", NO_BODY  # Litestar found no body at all (its message is the bare name "'data'")
    base = "" if key == _WHOLE_BODY else key
    for pattern, wording in ((_UNKNOWN_FIELD, "unknown field"), (_MISSING_FIELD, "required field missing")):
        found = pattern.match(message)
        if found:
            field = f"{base}.{found['name']}" if base else found["name"]
            return field, wording
    return base or "body", message


def _raw(exc: ValidationException) -> list[dict[str, Any]]:
    return [item for item in exc.extra if isinstance(item, dict)] if isinstance(exc.extra, list) else []


def entries(exc: ValidationException) -> list[dict[str, str]]:
    """Every error of `exc` as entries; a bare message (no list) becomes one entry without a key."""
    found = [entry(item) for item in _raw(exc)]
    if not found and exc.detail and not exc.detail.startswith("Validation failed for "):
        found = [{"key": "", "source": "request", "message": scrub(exc.detail)}]
    return found


def summary(errors: list[dict[str, str]]) -> str:
    """`detail`: the first error, and how many more there are."""
    if not errors:
        return "The request does not match the schema."
    more = len(errors) - 1
    return errors[0]["message"] + (f" (and {more} more)" if more else "")


def malformed(exc: ValidationException) -> bool:
    """A body that is not JSON at all (or not the form it should be): 400, not 422."""
    texts = [str(item.get("message", "")) for item in _raw(exc)]
    return any(t.startswith("JSON is malformed") for t in [exc.detail or "", *texts])
