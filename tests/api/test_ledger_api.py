"""The transparency log over HTTP: key, checkpoints, tlog-proofs, consistency proofs and tiles,
each checked with the offline verifier and the test-only RFC 9162 implementation."""

from __future__ import annotations

import asyncio
import base64
import uuid

import asyncpg
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.settings import Settings
from api.app import create_app
from ledger.chain import ChainRecord, canonical
from tests import rfc9162
from tests.api.conftest import AuthHeaders
from verifier import optin_verify

pytestmark = pytest.mark.integration


async def leaves(pool: asyncpg.Pool, upto: int) -> list[bytes]:
    rows = await pool.fetch(
        "SELECT notification_id, originator_id, originator_version, topic, state, recorded_at "
        "FROM events WHERE notification_id <= $1 ORDER BY notification_id",
        upto,
    )
    return [canonical(ChainRecord(*r)) for r in rows]


async def key(client: AsyncTestClient[Litestar]) -> optin_verify.Key:
    response = await client.get("/v1/ledger/key")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return optin_verify.Key(response.text)


async def test_the_key_is_named_after_the_public_url_and_checkpoints_verify(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, pool: asyncpg.Pool
) -> None:
    vkey = await key(client)
    assert vkey.name == "127.0.0.1:8000/v1/ledger"
    await auth_headers("staff")  # some events
    response = await client.get("/v1/ledger/checkpoint")
    assert response.status_code == 200
    size, root = optin_verify.parse_checkpoint(response.text, vkey)
    assert size >= 1
    assert root == rfc9162.mth(await leaves(pool, size))
    again = await client.get(f"/v1/ledger/checkpoint?size={size}")
    assert again.text == response.text
    assert "immutable" in again.headers["cache-control"]


async def test_an_auditor_gets_a_tlog_proof_of_any_event(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, pool: asyncpg.Pool
) -> None:
    vkey = await key(client)
    auditor = await auth_headers("auditor")
    head = int(await pool.fetchval("SELECT position FROM ledger_head"))
    data = await leaves(pool, head)
    for position in range(1, head + 1):
        response = await client.get(f"/v1/ledger/proof/{position}", headers=auditor)
        assert response.status_code == 200, response.text
        index, path, note = optin_verify.parse_tlog_proof(response.text)
        size, root = optin_verify.parse_checkpoint(note, vkey)
        assert index == position - 1
        assert rfc9162.verify_inclusion(index, size, rfc9162.mth([data[index]]), path, root)
    assert (await client.get("/v1/ledger/proof/1", headers=await auth_headers("staff"))).status_code == 403
    assert (await client.get("/v1/ledger/proof/1")).status_code == 401


async def test_bad_proof_requests_are_problems_not_errors(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders
) -> None:
    auditor = await auth_headers("auditor")
    for path, status in [
        ("/v1/ledger/proof/0", 422),
        ("/v1/ledger/proof/999999", 404),
        ("/v1/ledger/proof/1?size=999999", 404),
        ("/v1/ledger/proof/abc", 404),
        ("/v1/ledger/checkpoint?size=424242", 404),
        ("/v1/ledger/checkpoint?size=-1", 422),
        ("/v1/ledger/consistency?from=5&to=2", 422),
        ("/v1/ledger/consistency?from=1&to=999999", 404),
        ("/v1/ledger/tile/0/1234", 404),
        ("/v1/ledger/tile/0/999", 404),
        ("/v1/ledger/tile/0/000.p/300", 404),
    ]:
        response = await client.get(path, headers=auditor)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), path


async def test_consistency_proofs_link_older_checkpoints_to_newer_ones(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, pool: asyncpg.Pool
) -> None:
    vkey = await key(client)
    await auth_headers("staff")
    first = optin_verify.parse_checkpoint((await client.get("/v1/ledger/checkpoint")).text, vkey)
    for _ in range(3):
        await auth_headers("staff")
    auditor = await auth_headers("auditor")
    head = int(await pool.fetchval("SELECT position FROM ledger_head"))
    await client.get(f"/v1/ledger/proof/{head}", headers=auditor)  # signs a checkpoint covering it
    second = optin_verify.parse_checkpoint((await client.get("/v1/ledger/checkpoint")).text, vkey)
    assert second[0] > first[0]
    response = await client.get(f"/v1/ledger/consistency?from={first[0]}&to={second[0]}")
    body = msgspec.json.decode(response.content)
    assert (body["from"], body["to"]) == (first[0], second[0])
    hashes = [base64.b64decode(h) for h in body["hashes"]]
    assert rfc9162.verify_consistency(first[0], second[0], first[1], second[1], hashes)


async def test_tiles_are_the_leaf_hashes(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, pool: asyncpg.Pool
) -> None:
    await auth_headers("staff")
    size, _ = optin_verify.parse_checkpoint(
        (await client.get("/v1/ledger/checkpoint")).text, await key(client)
    )
    response = await client.get(f"/v1/ledger/tile/0/000.p/{size}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == b"".join(rfc9162.mth([d]) for d in await leaves(pool, size))


async def test_without_a_signing_key_the_log_says_so(settings: Settings) -> None:
    app = create_app(msgspec.structs.replace(settings, signing_key=None))
    async with AsyncTestClient(app) as client:
        response = await client.get("/v1/ledger/key")
        assert response.status_code == 503
        assert "OPTIN_SIGNING_KEY" in response.json()["detail"]
        await asyncio.sleep(0)


async def test_the_origin_can_be_set(settings: Settings) -> None:
    origin = f"evidence.example/{uuid.uuid4().hex[:6]}"
    app = create_app(msgspec.structs.replace(settings, ledger_origin=origin))
    async with AsyncTestClient(app) as client:
        assert (await key(client)).name == origin
        assert (await client.get("/v1/ledger/checkpoint")).text.startswith(origin + "\n")
