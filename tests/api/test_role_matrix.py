"""The role matrix, generated from the app's route table: every endpoint × every kind of caller.

`DOCUMENTED` is the "who" of docs/http-api.md (`x-roles` in the schema). Every route the app
serves must appear there and declare exactly that guard; then each route is called as
anonymous, each staff role, a service key and a contact session, and must answer 401 (no
credentials), 403 (wrong role or kind) or pass the guard (2xx where this file knows a valid
request, otherwise at least neither 401/403 nor 5xx).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.testing import AsyncTestClient

from adapters.settings import Settings
from api.app import create_app
from api.auth.guards import Guard, allow, anyone, contact_only
from api.auth.principal import ROLES, Principal
from api.auth.tokens import issue_contact_token
from api.composition import Components
from ledger.vocabulary import SYSTEM
from projections.runner import wait_for_position
from tests.api.conftest import AuthHeaders

# docs/http-api.md, operation by operation ("{}" stands for any path parameter). Admin passes every `allow`.
DOCUMENTED: dict[tuple[str, str], Guard] = {
    ("GET", "/health"): anyone,
    ("GET", "/ready"): anyone,
    ("POST", "/v1/auth/token"): anyone,
    ("POST", "/v1/users"): allow(),
    ("GET", "/v1/users"): allow(),
    ("PATCH", "/v1/users/{}"): allow(),
    ("POST", "/v1/users/{}/api-keys"): allow(),
    ("DELETE", "/v1/users/{}/api-keys/{}"): allow(),
    ("POST", "/v1/optins"): allow("staff"),
    # Auditors read programs too: the disclosure texts are the evidence behind every consent.
    ("GET", "/v1/optins"): allow("staff", "service", "auditor"),
    ("GET", "/v1/optins/{}"): allow("staff", "service", "auditor"),
    ("PATCH", "/v1/optins/{}"): allow("staff"),
    # Not in API.md's table, but in issue 17: every version of a program's disclosure text.
    ("GET", "/v1/optins/{}/disclosures"): allow("staff", "service", "auditor"),
    ("POST", "/v1/contacts"): allow("staff", "service"),
    ("GET", "/v1/contacts"): allow("staff", "auditor"),
    ("GET", "/v1/contacts/{}"): allow("staff", "auditor"),
    ("DELETE", "/v1/contacts/{}"): allow(),
    ("GET", "/v1/contacts/{}/timeline"): allow("staff", "auditor"),
    ("POST", "/v1/consent-requests"): allow("staff", "service"),
    ("POST", "/v1/verifications/{}/confirm"): anyone,
    ("GET", "/v1/consent"): allow("staff", "service", "auditor"),
    ("POST", "/v1/consent/check"): allow("staff", "service"),
    ("POST", "/v1/public/verifications"): anyone,
    ("POST", "/v1/public/verifications/confirm"): anyone,
    ("GET", "/v1/public/me"): contact_only,
    ("POST", "/v1/public/me/consents"): contact_only,
    ("GET", "/u/{}"): anyone,
    ("POST", "/u/{}"): anyone,
    ("POST", "/v1/webhooks/sms/inbound"): anyone,
    ("POST", "/v1/webhooks/sms/status"): anyone,
    # Email feedback: a raw report from the operator's mail server (service key), and the providers'
    # own webhooks, each authenticated by its signature or credentials (404 when not configured).
    ("POST", "/v1/webhooks/email/feedback"): allow("service"),
    ("POST", "/v1/webhooks/email/ses"): anyone,
    ("POST", "/v1/webhooks/email/sendgrid"): anyone,
    ("POST", "/v1/webhooks/email/postmark"): anyone,
    ("POST", "/v1/templates"): allow("staff"),
    # Applications learn a template's variables before they send with it.
    ("GET", "/v1/templates"): allow("staff", "service"),
    ("GET", "/v1/templates/{}"): allow("staff", "service"),
    ("PATCH", "/v1/templates/{}"): allow("staff"),
    # The console's live preview of a template or draft (renders, sends nothing).
    ("POST", "/v1/templates/preview"): allow("staff"),
    ("POST", "/v1/messages/send"): allow("staff", "service"),
    ("POST", "/v1/messages/send_with_consent"): allow("staff", "service"),
    # A service key reads the messages its own account sent (others' are 404 to it).
    ("GET", "/v1/messages"): allow("staff", "auditor", "service"),
    ("GET", "/v1/messages/{}"): allow("staff", "auditor", "service"),
    ("GET", "/v1/admin/analytics"): allow("staff", "auditor"),
    ("GET", "/v1/audit/events"): allow("auditor"),
    ("GET", "/v1/audit/export"): allow("auditor"),
    ("GET", "/v1/ledger/key"): anyone,
    ("GET", "/v1/ledger/checkpoint"): anyone,
    ("GET", "/v1/ledger/proof/{}"): allow("auditor"),
    ("GET", "/v1/ledger/consistency"): anyone,
    ("GET", "/v1/ledger/tile/{}"): anyone,
    ("GET", "/v1/contacts/{}/evidence"): allow("staff", "auditor"),
    ("GET", "/v1/public/me/receipts"): contact_only,
    ("POST", "/v1/webhook-endpoints"): allow("service"),
    ("GET", "/v1/webhook-endpoints"): allow("service"),
    ("POST", "/v1/webhook-endpoints/{}/rotate"): allow("service"),
    ("DELETE", "/v1/webhook-endpoints/{}"): allow("service"),
    ("GET", "/v1/webhook-endpoints/{}/deliveries"): allow("service"),
    ("POST", "/v1/imports"): allow("staff"),
    ("GET", "/v1/exports/consent"): allow("auditor"),
    ("GET", "/v1/admin/compliance"): allow("staff", "auditor"),
    ("GET", "/v1/public/receipts/{}"): anyone,  # a receipt link: the signed token is the authority
    ("GET", "/v1/public/receipts/{}/{}"): anyone,
}

# Server-rendered pages (api/web/). Same rule: exactly this guard each. They authenticate by their
# own cookie (console session or contact session), never by `Authorization`, so the bearer walk
# below leaves them out; tests/web/test_console_pages.py walks the console by role with cookies.
PAGES: dict[tuple[str, str], Guard] = {
    ("GET", "/static/{}"): anyone,
    ("GET", "/r/{}"): anyone,  # the receipt page a consent receipt links to
    ("GET", "/programs/{}/opt-in"): anyone,
    ("GET", "/programs/{}/opt-out"): anyone,
    ("POST", "/programs/{}/code"): anyone,
    ("POST", "/programs/{}/confirm"): anyone,
    ("POST", "/programs/{}/apply"): contact_only,
    ("POST", "/programs/{}/resend"): anyone,
    ("GET", "/preferences"): anyone,
    ("POST", "/preferences/code"): anyone,
    ("POST", "/preferences/confirm"): anyone,
    ("POST", "/preferences/resend"): anyone,
    ("POST", "/preferences/consents"): contact_only,
    ("POST", "/preferences/sign-out"): anyone,
    ("GET", "/console/login"): anyone,
    ("POST", "/console/login"): anyone,
    ("POST", "/console/logout"): anyone,
    ("GET", "/console"): allow("staff", "auditor"),
    ("GET", "/console/contacts"): allow("staff", "auditor"),
    ("POST", "/console/contacts/search"): allow("staff", "auditor"),
    ("GET", "/console/contacts/{}"): allow("staff", "auditor"),
    ("GET", "/console/contacts/{}/evidence"): allow("staff", "auditor"),
    ("GET", "/console/consent-requests"): allow("staff"),
    ("POST", "/console/consent-requests"): allow("staff"),
    ("GET", "/console/programs"): allow("staff", "auditor"),
    ("GET", "/console/programs/new"): allow("staff"),
    ("POST", "/console/programs"): allow("staff"),
    ("POST", "/console/programs/preview"): allow("staff"),
    ("GET", "/console/programs/{}"): allow("staff", "auditor"),
    ("GET", "/console/programs/{}/disclosures"): allow("staff", "auditor"),
    ("GET", "/console/ledger/proof/{}"): allow("auditor"),
    ("POST", "/console/programs/{}"): allow("staff"),
    ("GET", "/console/templates"): allow("staff"),
    ("GET", "/console/templates/new"): allow("staff"),
    ("POST", "/console/templates"): allow("staff"),
    ("POST", "/console/templates/preview"): allow("staff"),
    ("GET", "/console/templates/{}"): allow("staff"),
    ("POST", "/console/templates/{}"): allow("staff"),
    ("GET", "/console/messages"): allow("staff", "auditor"),
    ("GET", "/console/messages/{}"): allow("staff", "auditor"),
    ("GET", "/console/users"): allow(),
    ("POST", "/console/users"): allow(),
    ("POST", "/console/users/{}"): allow(),
    ("POST", "/console/users/{}/api-keys"): allow(),
    ("POST", "/console/users/{}/api-keys/{}/revoke"): allow(),
    ("GET", "/console/audit"): allow("auditor"),
    ("GET", "/console/revocations"): allow("staff"),
    ("POST", "/console/revocations/{}/confirm"): allow("staff"),
    ("POST", "/console/revocations/{}/dismiss"): allow("staff"),
    ("GET", "/console/audit/export"): allow("auditor"),
    ("POST", "/console/audit/verify"): allow("auditor"),
}
RULES = {**DOCUMENTED, **PAGES}

CALLERS: tuple[str, ...] = ("anonymous", *ROLES, "contact")
_PARAM = re.compile(r"\{([^}:]+)(?::([^}]+))?\}")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # Litestar's form, with typed parameters

    @property
    def key(self) -> tuple[str, str]:
        return self.method, _PARAM.sub("{}", self.path)


def endpoints(app: Litestar) -> dict[Endpoint, list[Any]]:
    """Every (method, path) the app serves and its guards, less CORS preflight and the schema."""
    found: dict[Endpoint, list[Any]] = {}
    schema = (app.openapi_config.path if app.openapi_config else None) or "/schema"
    for route in app.routes:
        if route.path == schema or route.path.startswith(schema + "/"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods - {"OPTIONS", "HEAD"}:
                guards = [getattr(g, "func", g) for g in handler.resolve_guards()]
                found[Endpoint(method, route.path)] = guards
    return found


def undeclared(app: Litestar) -> list[str]:
    """Routes that break the rule: not exactly one `Guard`, or not the one documented."""
    problems = []
    for endpoint, guards in endpoints(app).items():
        name = f"{endpoint.method} {endpoint.path}"
        if len(guards) != 1 or not isinstance(guards[0], Guard):
            problems.append(f"{name}: declares {guards!r}, not exactly one of allow/contact_only/anyone")
        elif endpoint.key not in RULES:
            problems.append(f"{name}: not in the documented role table")
        elif not same_rule(guards[0], RULES[endpoint.key]):
            problems.append(f"{name}: guard {guards[0]!r} but the docs say {RULES[endpoint.key]!r}")
    return problems


def same_rule(a: Guard, b: Guard) -> bool:
    return (a.roles, a.contact, a.public) == (b.roles, b.contact, b.public)


def test_every_route_declares_exactly_its_documented_guard(settings: Settings) -> None:
    app = create_app(settings)
    assert endpoints(app), "no routes found"
    assert undeclared(app) == []


def test_a_route_without_a_declared_rule_fails_the_check(settings: Settings) -> None:
    @get("/v1/forgotten", sync_to_thread=False)
    def forgotten() -> str:
        return "open to all by accident"

    @get("/v1/users/{user_id:uuid}/secrets", guards=[allow("staff")], sync_to_thread=False)
    def misdeclared(user_id: FromPath[uuid.UUID]) -> str:
        return "staff may not, say the docs"

    app = create_app(settings)
    app.register(forgotten)
    app.register(misdeclared)
    problems = undeclared(app)
    assert any("GET /v1/forgotten: declares []" in p for p in problems)
    assert any("/v1/users/{user_id:uuid}/secrets: not in the documented" in p for p in problems)


def expected_status(guard: Guard, caller: str) -> int | None:
    """401 or 403 when refused; None when the guard lets the caller through."""
    if caller == "anonymous":
        principal = None
    elif caller == "contact":
        principal = Principal(kind="contact", id="c", contact_id=uuid.uuid4())
    else:
        principal = Principal(kind="user", id="u", role=caller)  # type: ignore[arg-type]
    if guard.admits(principal):
        return None
    return 401 if principal is None else 403


@pytest.mark.integration
async def test_every_endpoint_answers_every_caller_as_documented(
    client: AsyncTestClient[Litestar],
    auth_headers: AuthHeaders,
    auth_services: Components,
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in ROLES:
        headers[role] = await auth_headers(role)
    contact_token = issue_contact_token(settings.token_key, uuid.uuid4())
    headers["contact"] = {"Authorization": f"Bearer {contact_token}"}
    samples = await valid_requests(auth_services, pool)

    mismatches = []
    for endpoint in endpoints(client.app):
        if endpoint.key in PAGES:
            continue
        guard = DOCUMENTED[endpoint.key]
        for caller in CALLERS:
            sample = samples.get(endpoint.key)
            if sample:
                response = await client.request(
                    endpoint.method, sample[0](), headers=headers[caller], **sample[1]
                )
            else:
                path = _PARAM.sub(_fill, endpoint.path)
                response = await client.request(endpoint.method, path, headers=headers[caller], json={})
            wanted = expected_status(guard, caller)
            got = response.status_code
            if wanted is not None:
                ok = got == wanted
            elif sample:
                ok = 200 <= got < 300
            else:
                ok = got not in (401, 403) and got < 500
            if not ok:
                mismatches.append(
                    f"{endpoint.method} {endpoint.path} as {caller}: {got}, expected {wanted or '2xx'}"
                )
    assert mismatches == []


def _fill(match: re.Match[str]) -> str:
    kind = match.group(2) or "str"
    return str(uuid.uuid4()) if kind == "uuid" else "1" if kind == "int" else "x"


async def valid_requests(
    auth: Components, pool: asyncpg.Pool
) -> dict[tuple[str, str], tuple[Callable[[], str], dict[str, Any]]]:
    """A request that succeeds, per endpoint this issue built: (path maker, request kwargs)."""
    password = "matrix-walrus-gazebo-77"
    person, _ = await auth.accounts.create(
        email="person@staff.example.org", role="staff", password=password, actor=SYSTEM
    )
    service, _ = await auth.accounts.create(
        email="app@staff.example.org", role="service", password=None, actor=SYSTEM
    )
    issued = await auth.accounts.issue_api_key(service.id, SYSTEM)
    key_id, position = issued.key_id, issued.position
    await wait_for_position(pool, position, ["users"])
    login = {"grant_type": "password", "username": "person@staff.example.org", "password": password}

    def new_user() -> dict[str, Any]:
        email = f"new-{uuid.uuid4().hex[:8]}@staff.example.org"
        return {"json": {"email": email, "role": "auditor", "password": "sturdy-otter-ballad-19"}}

    return {
        ("GET", "/health"): (lambda: "/health", {}),
        ("GET", "/ready"): (lambda: "/ready", {}),
        ("POST", "/v1/auth/token"): (lambda: "/v1/auth/token", {"data": login}),
        ("GET", "/v1/users"): (lambda: "/v1/users", {}),
        ("POST", "/v1/users"): (lambda: "/v1/users", new_user()),
        ("PATCH", "/v1/users/{}"): (lambda: f"/v1/users/{person.id}", {"json": {"role": "auditor"}}),
        ("POST", "/v1/users/{}/api-keys"): (lambda: f"/v1/users/{service.id}/api-keys", {}),
        ("DELETE", "/v1/users/{}/api-keys/{}"): (lambda: f"/v1/users/{service.id}/api-keys/{key_id}", {}),
        ("GET", "/v1/audit/events"): (lambda: "/v1/audit/events?limit=5", {}),
        ("GET", "/v1/audit/export"): (lambda: "/v1/audit/export", {}),
    }
