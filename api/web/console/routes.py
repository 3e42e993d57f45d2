"""Every console route handler, for the console router (`api/web/routers.py`)."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from api.web.console.dashboard import dashboard
from api.web.console.login import log_in, log_out, login_page

CONSOLE_HANDLERS: list[ControllerRouterHandler] = [login_page, log_in, log_out, dashboard]
