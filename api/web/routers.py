"""The page routers the composition root mounts: contact pages, the console, static files."""

from __future__ import annotations

from litestar import Router
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from adapters.settings import Settings
from api.auth.guards import anyone
from api.web.console.routes import CONSOLE_HANDLERS
from api.web.contact.preferences import PreferencePages
from api.web.contact.programs import ProgramPages
from api.web.errors import PAGE_ERRORS
from api.web.rendering import STATIC
from api.web.security import PAGE_OPT, csrf_middleware
from api.web.sessions import console_session, contact_session


def web_routers(settings: Settings) -> list[ControllerRouterHandler]:
    """Pages share the CSRF check (and, by `PAGE_OPT`, the security headers); each router reads its
    own session cookie."""
    contact = Router(
        path="/",
        route_handlers=[ProgramPages, PreferencePages],
        middleware=[csrf_middleware(settings), contact_session(settings)],
        exception_handlers=PAGE_ERRORS,
        include_in_schema=False,
        opt={PAGE_OPT: True},
    )
    console = Router(
        path="/console",
        route_handlers=CONSOLE_HANDLERS,
        middleware=[csrf_middleware(settings), console_session(settings)],
        exception_handlers=PAGE_ERRORS,
        include_in_schema=False,
        opt={PAGE_OPT: True},
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC],
        guards=[anyone],
        cache_control=None,
        include_in_schema=False,
    )
    return [contact, console, static]
