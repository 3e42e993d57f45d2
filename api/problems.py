"""Every error leaves as RFC 9457 problem details; domain errors map to their HTTP status here."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from api import validation
from ledger.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidCommandError,
    InvalidValueError,
    NotFoundError,
    RateLimitedError,
    TryLaterError,
    VerificationError,
)
from ledger.masking import scrub
from projections.runner import ProjectionLagError

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"

_DOMAIN_STATUS: dict[type[DomainError], tuple[int, str]] = {
    ConflictError: (409, "Conflict"),
    ForbiddenError: (403, "Forbidden"),
    InvalidCommandError: (409, "Not allowed in the current state"),
    NotFoundError: (404, "Not found"),
    InvalidValueError: (422, "Invalid value"),
}


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    """A problem-details response; `detail` is scrubbed of addresses whatever its origin.

    The title of an `about:blank` problem is the status's standard phrase (RFC 9457 §4.2.1), so
    every 404 reads "Not Found"; a caller's own `title` is kept as the detail when none is given.
    """
    body: dict[str, Any] = {"type": "about:blank", "title": _title(status), "status": status}
    detail = detail or (title if title != body["title"] else None)
    if detail:
        body["detail"] = scrub(detail)
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    errors = validation.entries(exc)
    if validation.malformed(exc):
        return problem(400, "Bad Request", "The body is not valid JSON.", errors=errors)
    if any(e["message"].endswith(validation.NO_BODY) for e in errors):
        return problem(400, "Bad Request", validation.NO_BODY, errors=errors)
    return problem(422, "Unprocessable Content", validation.summary(errors), errors=errors)


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if exc.status_code >= 500:
        return _unexpected(request, exc)
    body: dict[str, Any] = {"type": "about:blank", "status": exc.status_code}
    body["title"] = _title(exc.status_code)
    if exc.detail and exc.detail != body["title"]:
        body["detail"] = scrub(exc.detail)
    if isinstance(exc.extra, dict):
        body.update(exc.extra)
    return Response(body, status_code=exc.status_code, media_type=PROBLEM_JSON, headers=exc.headers)


_PHRASES = {413: "Content Too Large", 422: "Unprocessable Content"}  # RFC 9110's names, on every Python


def _title(status: int) -> str:
    if status in _PHRASES:
        return _PHRASES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _domain(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    for cls in type(exc).__mro__:
        if cls in _DOMAIN_STATUS:
            status, title = _DOMAIN_STATUS[cls]
            return problem(status, title, str(exc))
    return problem(422, "Refused", str(exc))


def _verification(_: Request[Any, Any, Any], exc: VerificationError) -> Response[dict[str, Any]]:
    extra: dict[str, Any] = {"outcome": exc.outcome}
    if exc.attempts_left is not None:
        extra["attempts_left"] = exc.attempts_left
    headers = {"Ledger-Position": str(exc.position)} if exc.position is not None else None
    return problem(422, "Code refused", str(exc), headers=headers, **extra)


def _rate_limited(_: Request[Any, Any, Any], exc: RateLimitedError) -> Response[dict[str, Any]]:
    return problem(
        429,
        "Too many requests",
        str(exc),
        headers={"Retry-After": str(exc.retry_after)},
        retry_after=exc.retry_after,
    )


def _try_later(_: Request[Any, Any, Any], exc: TryLaterError) -> Response[dict[str, Any]]:
    return problem(503, "Try again", str(exc), headers={"Retry-After": str(exc.retry_after)})


def _lagging(_: Request[Any, Any, Any], exc: ProjectionLagError) -> Response[dict[str, Any]]:
    return problem(503, "Read models are catching up", str(exc), headers={"Retry-After": "1"})


def _too_deep(_: Request[Any, Any, Any], exc: RecursionError) -> Response[dict[str, Any]]:
    return problem(400, "Bad Request", "The body is nested too deeply.")


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("unhandled error", path=request.url.path, exc_info=exc)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Internal error", "Something went wrong on our side.")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ValidationException: _validation,
    HTTPException: _http,
    VerificationError: _verification,
    RateLimitedError: _rate_limited,
    TryLaterError: _try_later,
    DomainError: _domain,
    ProjectionLagError: _lagging,
    RecursionError: _too_deep,
    Exception: _unexpected,
}
