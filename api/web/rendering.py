"""Rendering pages: the Jinja engine and the context every page gets (errors: `api/web/errors.py`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig

from api.auth.principal import Principal
from api.web.console.access import navigation
from api.web.contact.words import status_words

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
"""How every page form arrives: `data: Annotated[SomeForm, Form]`."""
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


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
    environment.globals["status_words"] = status_words
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
