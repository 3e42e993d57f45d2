"""Rendering pages: the Jinja engine, the context every page gets, and errors as HTML pages.

Errors on page routes answer a page, never problem JSON: a console visitor without a session is
sent to the login page, a refused role or a failed CSRF check gets a 403 page saying which.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from litestar.enums import RequestEncodingType
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.params import Body
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig
from litestar.types import ExceptionHandlersMap

from api.auth.principal import Principal
from api.web.console.access import navigation
from ledger.errors import DomainError, NotFoundError, RateLimitedError
from ledger.masking import scrub
from projections.runner import ProjectionLagError

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
"""How every page form arrives: `data: Annotated[SomeForm, Form]`."""
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
log = structlog.get_logger(__name__)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,  # a misspelt variable fails the test, not silently blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = _when
    return TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment))


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def viewer(request: Request[Any, Any, Any]) -> Principal | None:
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else None


def page(request: Request[Any, Any, Any], template: str, *, status: int = 200, **context: Any) -> Template:
    """A full page, or (`template` naming a fragment) the part an htmx request swaps in."""
    user = viewer(request)
    base = {
        "user": user,
        "nav": navigation(user, request.url.path) if user and user.kind == "user" else [],
        "path": request.url.path,
        "htmx": is_htmx(request),
        "error": None,
        "notice": None,
    }
    return Template(template_name=template, context={**base, **context}, status_code=status)


def see_other(request: Request[Any, Any, Any], path: str) -> Response[Any]:
    """After a successful form post: 303 to the page to show (htmx follows with HX-Location)."""
    if is_htmx(request):
        return Response(b"", status_code=204, headers={"HX-Location": path})
    return Redirect(path, status_code=303)


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
    return _error_page(request, exc.status_code, "Request refused", exc.detail or "")


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error_page(request, 404, "Not found", "There is nothing here (it may have been erased).")


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
    return _error_page(request, 500, "Something went wrong", "Something went wrong on our side.")


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
