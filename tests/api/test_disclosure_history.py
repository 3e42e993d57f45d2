"""`GET /v1/optins/{id}/disclosures`: every version of a program's disclosure text, exactly as
published, with its hash and when it was in force; consent evidence names one of them."""

from __future__ import annotations

import hashlib
import uuid

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from projections.runner import wait_for_position
from tests.api.conftest import AuthHeaders

pytestmark = pytest.mark.integration


async def test_every_version_is_kept_with_its_text_hash_and_time_in_force(
    client: AsyncTestClient[Litestar], auth_headers: AuthHeaders, pool: asyncpg.Pool
) -> None:
    staff = await auth_headers("staff")
    texts = ["First words.\n  Indented line.", "Second words.", "Third words."]
    made = await client.post(
        "/v1/optins",
        json={"name": "Pond news", "purpose": "marketing", "channels": ["email"], "disclosure": texts[0]},
        headers=staff,
    )
    optin = made.json()["id"]
    position = made.headers["ledger-position"]
    for text in texts[1:]:
        changed = await client.patch(f"/v1/optins/{optin}", json={"disclosure": text}, headers=staff)
        position = changed.headers["ledger-position"]
    await wait_for_position(pool, int(position), ["optins"])

    for who in (staff, await auth_headers("auditor"), await auth_headers("service")):
        answer = await client.get(f"/v1/optins/{optin}/disclosures", headers=who)
        assert answer.status_code == 200, answer.text
    history = answer.json()
    assert [v["version"] for v in history] == [1, 2, 3]
    assert [v["text"] for v in history] == texts  # exactly, whitespace and all
    assert [v["sha256"] for v in history] == [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    assert history[0]["replaced_at"] == history[1]["published_at"]
    assert history[1]["replaced_at"] == history[2]["published_at"] and history[2]["replaced_at"] is None
    current = (await client.get(f"/v1/optins/{optin}", headers=staff)).json()
    assert current["disclosure_sha256"] == history[-1]["sha256"]

    missing = await client.get(f"/v1/optins/{uuid.uuid4()}/disclosures", headers=staff)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"/v1/optins/{optin}/disclosures")).status_code == 401
