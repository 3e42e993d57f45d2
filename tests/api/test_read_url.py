"""`DATABASE_READ_URL` without a streaming pair (tests/replica has the real one): a replica that
cannot be reached at start-up, or is no replica of this database, leaves the primary answering
every read, at once and without an error; a read URL on the primary's own database serves reads
through the replica's path."""

from __future__ import annotations

import io
import socket
import time
from pathlib import Path

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY

from adapters.postgres.dsn import with_database
from adapters.postgres.replica_settings import ReadReplicaSettings
from adapters.settings import Settings
from tests import pii
from tests.api.conftest import AuthHeaders, app_settings
from tests.api.test_consent_flow import program

pytestmark = pytest.mark.integration
Client = AsyncTestClient[Litestar]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.fixture
def read_url(request: pytest.FixtureRequest, database_url: str) -> str:
    """`closed` (the default): nothing listens there; `elsewhere`: a database with no ledger (not
    a replica of this one); `primary`: the primary's own database."""
    where = getattr(request, "param", "closed")
    if where == "primary":
        return database_url
    if where == "elsewhere":
        return with_database(database_url, "postgres")
    return f"postgresql://nobody@127.0.0.1:{closed_port()}/optin"


@pytest.fixture
def settings(database_url: str, read_url: str, tmp_path: Path) -> Settings:
    replica = ReadReplicaSettings(url=read_url, wait_seconds=1.0, check_seconds=0.2)
    return msgspec.structs.replace(app_settings(database_url, tmp_path), read_replica=replica)


def requests_to(database: str) -> float:
    return REGISTRY.get_sample_value("optin_read_requests_total", {"database": database}) or 0.0


@pytest.mark.parametrize(
    ("read_url", "logged"),
    [("closed", "read replica unreachable"), ("elsewhere", "read replica unusable")],
    indirect=["read_url"],
)
async def test_a_replica_unreachable_or_unusable_leaves_every_read_to_the_primary_without_waiting(
    log_output: io.StringIO, client: Client, auth_headers: AuthHeaders, logged: str
) -> None:
    staff = await auth_headers("staff")
    made = await client.post(
        "/v1/optins",
        json={"name": "News", "purpose": "marketing", "channels": ["email"], "disclosure": "News by email."},
        headers=staff,
    )
    assert made.status_code == 201, made.text
    before, started = requests_to("primary"), time.monotonic()
    got = await client.get(
        f"/v1/optins/{made.json()['id']}",
        params={"min_position": made.headers["ledger-position"]},
        headers=staff,
    )
    assert got.status_code == 200 and got.json()["name"] == "News"
    assert time.monotonic() - started < 1.0  # not serving: no wait for it
    assert requests_to("primary") == before + 1
    for path in ("/v1/optins", "/v1/contacts", "/v1/messages", "/v1/templates", "/v1/admin/analytics"):
        listed = await client.get(path, headers=staff)
        assert listed.status_code == 200, (path, listed.text)
    assert REGISTRY.get_sample_value("optin_read_replica_serving") == 0.0
    assert f"{logged}: the primary answers reads" in log_output.getvalue()


@pytest.mark.parametrize("read_url", ["primary"], indirect=True)
async def test_a_read_url_on_the_primary_itself_serves_reads_on_the_replica_path(
    client: Client, auth_headers: AuthHeaders
) -> None:
    """A development set-up, but it runs the replica's code on any machine: a min_position read
    on one connection of its own, plain reads through the replica's pool."""
    staff = await auth_headers("staff")
    optin = await program(client, staff)
    assert REGISTRY.get_sample_value("optin_read_replica_serving") == 1.0
    for _ in range(5):
        made = await client.post(
            "/v1/consent-requests",
            json={"optin_id": optin, "action": "opt_out", "channel": "email", "address": pii.email()},
            headers=staff,
        )
        assert made.status_code == 200, made.text
        before = requests_to("replica")
        query = {
            "optin_id": optin,
            "channel": "email",
            "contact_id": made.json()["contact_id"],
            "min_position": made.headers["ledger-position"],
        }
        got = await client.get("/v1/consent", params=query, headers=staff)
        assert got.status_code == 200 and got.json()["status"] == "opted_out"
        assert requests_to("replica") == before + 1
    listed = await client.get("/v1/optins", headers=staff)
    assert listed.status_code == 200 and [p["id"] for p in listed.json()] == [optin]
