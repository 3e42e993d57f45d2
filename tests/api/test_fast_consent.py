"""The consent check's hot path (`api/fast_consent.py`) answers exactly as the full stack does.

Each request is sent twice, with the hot path on and off; the status, body and headers must be
the same, byte for byte. The hot path must also have answered the plain checks itself (else this
test would compare the full stack with itself) and passed everything else through.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.postgres.dsn import database_name, with_database
from api import fast_consent, middleware
from api.fast_consent import FastConsent
from projections import consent_state
from tests import pii
from tests.api.channels import program
from tests.api.conftest import AuthHeaders
from tests.api.test_consent_flow import ask

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]


def _fast(app: Litestar) -> FastConsent:
    fast = app.state.fast_consent
    assert isinstance(fast, FastConsent)
    return fast


async def _both(client: Client, fast: FastConsent, query: str, headers: dict[str, str]) -> Any:
    """The answer with the hot path and without it, which must be the same; and whether the hot
    path answered."""
    answers = []
    for enabled in (True, False):
        fast.enabled = enabled
        before = fast.answered
        response = await client.get(f"/v1/consent?{query}", headers={**headers, "X-Request-ID": "same-id"})
        kept = {k: v for k, v in response.headers.items() if k not in ("date",)}
        answers.append((response.status_code, response.content, kept, fast.answered - before))
    fast.enabled = True
    (status, body, headers_on, took), (status_off, body_off, headers_off, _) = answers
    assert (status, body, headers_on) == (status_off, body_off, headers_off), query
    return status, took


async def test_the_hot_path_answers_as_the_full_stack_and_passes_the_rest_through(
    app: Litestar, client: Client, auth_headers: AuthHeaders
) -> None:
    fast = _fast(app)
    admin = await auth_headers("admin")
    optin = await program(client, admin, ["email", "sms"])
    pending = (await ask(client, admin, optin, pii.email()))["contact_id"]
    out = await client.post(
        "/v1/consent-requests",
        json={"optin_id": optin, "action": "opt_out", "channel": "email", "address": pii.email()},
        headers=await auth_headers("service"),
    )
    assert out.status_code == 200, out.text
    opted_out = out.json()["contact_id"]
    # Every write above in the read models, so the two answers of each pair cannot differ by a
    # projection that moved in between.
    settled = await client.get(
        f"/v1/optins/{optin}?min_position={out.headers['ledger-position']}", headers=admin
    )
    assert settled.status_code == 200, settled.text
    stranger = str(uuid.uuid4())
    readers = [
        admin,
        await auth_headers("staff"),
        await auth_headers("auditor"),
        await auth_headers("service"),
    ]

    def q(contact: str, channel: str = "email", program_id: str = optin) -> str:
        return f"contact_id={contact}&optin_id={program_id}&channel={channel}"

    # Answered by the hot path: every reader role, every state, the other channel, any order.
    for headers in readers:
        for contact in (pending, opted_out, stranger):
            assert await _both(client, fast, q(contact), headers) == (200, 1)
    assert await _both(client, fast, q(opted_out, "sms"), admin) == (200, 1)
    assert await _both(client, fast, f"channel=email&optin_id={optin}&contact_id={pending}", admin) == (
        200,
        1,
    )

    # Passed through: the full stack's answer, whatever it is.
    passed = {
        q(pending): [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}],
        q(pending, program_id=str(uuid.uuid4())): [admin],  # unknown program: 404
        q(pending, channel="fax"): [admin],
        q(pending.upper()): [admin],
        q(pending) + "&as_of=2020-01-01T00:00:00Z": [admin],
        q(pending) + "&min_position=1": [admin],
        q(pending) + f"&contact_id={pending}": [admin],
        q(pending).replace("-", "%2D", 1): [admin],
        f"optin_id={optin}&channel=email&address=nobody%40example.org": [admin],
        f"optin_id={optin}&channel=email": [admin],
        q(pending) + "&x=%00": [admin],
        "": [admin],
    }
    statuses = set()
    for query, headers_list in passed.items():
        for headers in headers_list:
            status, took = await _both(client, fast, query, headers)
            assert took == 0, query
            statuses.add(status)
    assert statuses == {200, 401, 404, 422}


class _Lines:
    """Stands in for the access log's logger: the lines it was given."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append({"event": event, **fields})


async def test_the_access_log_names_the_status_a_refusal_raised_in_a_middleware_got(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged = _Lines()
    monkeypatch.setattr(middleware, "log", logged)
    refused = await client.get("/v1/consent?channel=email&x=%00")
    assert refused.status_code == 422
    assert [(line["path"], line["status"]) for line in logged.lines] == [("/v1/consent", 422)]


async def test_a_database_outage_is_the_full_stacks_503_without_asking_twice(
    app: Litestar,
    client: Client,
    auth_headers: AuthHeaders,
    database_url: str,
    admin_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin, service = await auth_headers("admin"), await auth_headers("service")
    optin = await program(client, admin, ["email", "sms"])
    query = f"contact_id={uuid.uuid4()}&optin_id={optin}&channel=email"
    assert (await client.get(f"/v1/consent?{query}", headers=service)).status_code == 200  # key cached
    asked: list[object] = []
    read = consent_state.known_consent_of

    async def counted(*args: Any) -> Any:
        asked.append(args)
        return await read(*args)

    monkeypatch.setattr(fast_consent, "known_consent_of", counted)  # the hot path's
    monkeypatch.setattr(consent_state, "known_consent_of", counted)  # the full stack's
    name = database_name(database_url)
    admin_db = await asyncpg.connect(with_database(admin_dsn, "postgres"))
    try:
        await admin_db.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        await admin_db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        refused = await client.get(f"/v1/consent?{query}", headers=service)
    finally:
        await admin_db.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        await admin_db.close()
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) >= 1
    assert len(asked) == 1  # the hot path's; the full stack answered its failure
