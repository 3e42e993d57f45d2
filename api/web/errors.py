"""Errors as HTML pages wherever a person is reading pages; problem JSON for the API.

Errors on page routes answer a page, never problem JSON: a console visitor without a session is
sent to the login page, a refused role or a failed CSRF check gets a 403 page saying which. The
app-wide handlers (`page_aware`) do the same for paths no route matched and for failures outside
the page routers: an unknown path under `/v1/` (or `/schema`, `/health`, `/ready`) answers an RFC
9457 problem, any other one a page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.types import ExceptionHandlersMap

from api.web.rendering import page, see_other
from ledger.errors import DomainError, NotFoundError, RateLimitedError
from ledger.masking import scrub
from projections.runner import ProjectionLagError

log = structlog.get_logger(__name__)
_API_PATHS = ("/v1/", "/schema", "/health", "/ready", "/metrics")


def is_page_path(path: str) -> bool:
    """Whether a person's browser, rather than an API client, is expected at `path`."""
    return not (path == "/v1" or path.startswith(_API_PATHS))


def _error_page(request: Request[Any, Any, Any], status: int, title: str, detail: str) -> Response[Any]:
    return page(request, "error.html", status=status, title=title, detail=scrub(detail))


def _unauthorised(request: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[Any]:
    if request.url.path.startswith("/console"):
        return see_other(request, "/console/login")
    return _error_page(request, 401, "Sign-in needed", "Ask for a code again to continue.")


def _forbidden(request: Request[Any, Any, Any], exc: PermissionDeniedException) -> Response[Any]:
    if "CSRF" in (exc.detail or ""):
        detail = "This form was not sent from this site, or it expired. Reload the page and try again."
        return _error_page(request, 403, "Form refused", detail)
    return _error_page(request, 403, "Not for your role", "Your account's role may not use this page.")


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code >= 500:
        return _unexpected(request, exc)
    if exc.status_code == 405:
        detail = "This page cannot be used that way. Follow a link instead."
        return _error_page(request, 405, "Not here", detail)
    return _error_page(request, exc.status_code, "Request refused", exc.detail or "")


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    detail = "There is no page at this address. It may have been mistyped, moved, or erased."
    return _error_page(request, 404, "Page not found", detail)


def _invalid(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return _error_page(request, 400, "Invalid form", "Some fields are missing or not in the expected form.")


def _domain(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return _error_page(request, 409, "Refused", str(exc))


def _rate_limited(request: Request[Any, Any, Any], exc: RateLimitedError) -> Response[Any]:
    response = _error_page(request, 429, "Too many requests", str(exc))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _lagging(request: Request[Any, Any, Any], exc: ProjectionLagError) -> Response[Any]:
    response = _error_page(request, 503, "Catching up", "The pages are catching up; reload in a moment.")
    response.headers["Retry-After"] = "1"
    return response


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error on a page", path=scrub(request.url.path), exc_info=exc)
    detail = "Something went wrong on our side. Nothing you sent was lost; try again in a moment."
    return _error_page(request, 500, "Something went wrong", detail)


PAGE_ERRORS: ExceptionHandlersMap = {
    NotAuthorizedException: _unauthorised,
    PermissionDeniedException: _forbidden,
    NotFoundException: _not_found,
    NotFoundError: _not_found,
    ValidationException: _invalid,
    RateLimitedError: _rate_limited,
    DomainError: _domain,
    ProjectionLagError: _lagging,
    HTTPException: _http,
    Exception: _unexpected,
}

Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]


def _pick(handlers: ExceptionHandlersMap, exc: Exception) -> Handler:
    """The handler for the most specific class of `exc` in `handlers` (as Litestar picks)."""
    for cls in type(exc).__mro__:
        if cls in handlers:
            found: Handler = handlers[cls]
            return found
    raise LookupError(type(exc).__name__)  # unreachable while both maps handle `Exception`


def page_aware(api: ExceptionHandlersMap) -> ExceptionHandlersMap:
    """App-wide handlers: `api`'s for API paths, the pages' for every other path."""

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        chosen = PAGE_ERRORS if is_page_path(request.url.path) else api
        return _pick(chosen, exc)(request, exc)

    return dict.fromkeys({*api, *PAGE_ERRORS}, handle)
