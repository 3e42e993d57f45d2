"""A failure on a page path answers an HTML page with the pages' security headers; on an API path,
an RFC 9457 problem. The app-wide handlers decide by path (`api/web/errors.py`)."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.testing import TestClient

from api.problems import EXCEPTION_HANDLERS
from api.web.errors import is_page_path, page_aware
from api.web.rendering import template_config
from api.web.security import security_headers


@get("/broken", sync_to_thread=False)
def broken_page() -> str:
    raise RuntimeError("a bug, with jane.doe@example.org in its message")


@get("/v1/broken", sync_to_thread=False)
def broken_api() -> str:
    raise RuntimeError("a bug")


def app() -> Litestar:
    return Litestar(
        route_handlers=[broken_page, broken_api],
        exception_handlers=page_aware(EXCEPTION_HANDLERS),
        template_config=template_config(),
        before_send=[security_headers],
    )


def test_an_unexpected_error_on_a_page_path_answers_a_page() -> None:
    with TestClient(app()) as client:
        answer = client.get("/broken")
        assert answer.status_code == 500 and answer.headers["content-type"].startswith("text/html")
        assert "Something went wrong" in answer.text and "jane.doe" not in answer.text
        assert "RuntimeError" not in answer.text
        api = client.get("/v1/broken")
        assert api.status_code == 500 and api.headers["content-type"] == "application/problem+json"


def test_a_missing_page_answers_a_page_and_a_missing_api_path_a_problem() -> None:
    with TestClient(app()) as client:
        page = client.get("/nowhere")
        assert page.status_code == 404 and "Page not found" in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        wrong_method = client.post("/broken")
        assert wrong_method.status_code == 405 and "Not here" in wrong_method.text
        api = client.get("/v1/nowhere")
        assert api.status_code == 404 and api.json()["status"] == 404


def test_which_paths_are_pages() -> None:
    assert all(map(is_page_path, ["/", "/preferences", "/u/x", "/console/x", "/programs/x/opt-in", "/v1x"]))
    assert not any(map(is_page_path, ["/v1", "/v1/contacts", "/health", "/ready", "/schema/swagger"]))
