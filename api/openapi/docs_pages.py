"""The browsable API docs at /schema/swagger: Swagger UI, served by the service itself.

Its files come from the `swagger-ui-py` package (Swagger UI's own distribution files), never
from a CDN, so the page works offline; it has no inline script or style (its start-up script
is a file here), so it works under the same Content-Security-Policy and security headers as
every page (`api/web/security.py`), which the schema router's `opt` turns on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui
from litestar import Request, Router
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router

from api.auth.guards import anyone
from api.web.security import PAGE_OPT

SWAGGER_DIST = Path(swagger_ui.__file__).parent / "static"
OWN_ASSETS = Path(__file__).parent / "assets"
ASSETS = "/swagger/assets"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OptIn Ledger API</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/optin-swagger.js"></script>
</body>
</html>
"""


class OfflineSwagger(OpenAPIRenderPlugin):
    """Swagger UI at `path` (under the schema router), its assets beside it."""

    def __init__(self, path: str = "/swagger", *, schema_path: str = "/schema") -> None:
        super().__init__(path=path)
        self._page = _PAGE.format(assets=schema_path + ASSETS).encode()

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self._page

    def receive_router(self, router: Router) -> None:
        router.register(
            create_static_files_router(
                path=ASSETS,
                directories=[OWN_ASSETS, SWAGGER_DIST],
                guards=[anyone],
                include_in_schema=False,
                opt={PAGE_OPT: True},
            )
        )


def schema_router(path: str = "/schema") -> Router:
    """The router Litestar puts the schema and its docs pages on: pages, with their headers."""
    return Router(path=path, route_handlers=[], include_in_schema=False, opt={PAGE_OPT: True})
