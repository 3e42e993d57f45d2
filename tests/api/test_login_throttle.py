"""Issue 15 item 8: the login throttle tells nobody which emails have accounts, and locks nobody out.

Over a real socket behind a trusted proxy (`X-Forwarded-For` names each client), with the login
clock held still so that delays do not run out between attempts. Before, counters were kept per
account: an unknown email was never throttled (429 only for known ones: an account oracle), and
anyone's guesses locked the account for everyone, admins included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import msgspec
import pytest

from adapters.settings import Settings
from api.app import create_app
from api.composition import Components
from ledger.vocabulary import SYSTEM
from projections.runner import wait_for_position
from tests.api.served import served

pytestmark = pytest.mark.integration

ADMIN = "grace.admin@staff.example.org"
PASSWORD = "amber-lighthouse-parade-77"
NOBODY = "nobody.here@staff.example.org"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2031, 5, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def server(
    settings: Settings, auth_services: Components, pool: asyncpg.Pool
) -> AsyncIterator[tuple[httpx.AsyncClient, Clock]]:
    """The app behind a trusted proxy on loopback, an admin account, and the login clock."""
    app = create_app(msgspec.structs.replace(settings, trusted_proxies=("127.0.0.0/8",)))
    async with served(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        _, position = await auth_services.accounts.create(
            email=ADMIN, role="admin", password=PASSWORD, actor=SYSTEM
        )
        await wait_for_position(pool, position, ["users"])
        clock = Clock()
        app.state.components.login.logins.clock = clock
        yield http, clock


async def login(http: httpx.AsyncClient, email: str, password: str, client: str) -> httpx.Response:
    return await http.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": password},
        headers={"X-Forwarded-For": client},
    )


def answer(response: httpx.Response) -> tuple[int, str | None, object]:
    """What a caller can tell apart: status, Retry-After and body (less the request's id)."""
    return response.status_code, response.headers.get("retry-after"), response.json()


async def test_known_and_unknown_emails_are_throttled_alike(server: tuple[httpx.AsyncClient, Clock]) -> None:
    http, clock = server
    sequences = {}
    for email, client in ((ADMIN, "198.51.100.1"), (NOBODY, "198.51.100.2")):
        seen = []
        for _ in range(6):  # four free guesses, then delays: the same for both
            seen.append(answer(await login(http, email, "wrong-guess-0000", client)))
        for _ in range(7):  # wait out each delay: the tenth failure blocks, for both
            clock.now += timedelta(minutes=1)
            seen.append(answer(await login(http, email, "wrong-guess-0000", client)))
        clock.now -= timedelta(minutes=7)
        sequences[email] = seen
    assert sequences[ADMIN] == sequences[NOBODY]
    statuses = [status for status, _, _ in sequences[ADMIN]]
    assert statuses == [401] * 4 + [429] * 2 + [401] * 6 + [429]
    blocked_for = sequences[ADMIN][-1][1]
    assert isinstance(blocked_for, str)
    assert int(blocked_for) > 13 * 60


async def test_an_attacker_locks_only_themselves_out(server: tuple[httpx.AsyncClient, Clock]) -> None:
    http, clock = server
    attacker, owner = "203.0.113.66", "192.0.2.10"
    for _ in range(10):
        clock.now += timedelta(minutes=1)
        assert (await login(http, ADMIN, "guess-guess-guess", attacker)).status_code == 401
    clock.now += timedelta(minutes=1)
    assert (await login(http, ADMIN, PASSWORD, attacker)).status_code == 429  # blocked: even the password
    owners = await login(http, ADMIN, PASSWORD, owner)  # from a client with no failures
    assert owners.status_code == 200, owners.text
    # Spraying many emails from one client is bounded by the per-client counter.
    spray = [
        (await login(http, f"user{i}@staff.example.org", "pw-pw-pw-pw", "203.0.113.99")).status_code
        for i in range(22)
    ]
    assert spray == [401] * 21 + [429]  # CLIENT_POLICY: the 21st attempt sets a delay
