"""Analytics from projections: per-day counts and rates per program and channel, code success."""

from __future__ import annotations

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.settings import Settings
from tests import pii
from tests.api.test_consent_flow import ask, program
from tests.codes import latest_code

pytestmark = pytest.mark.integration


async def test_counts_rates_and_verification_success(
    client: AsyncTestClient[Litestar], pool: asyncpg.Pool, settings: Settings, as_admin: dict[str, str]
) -> None:
    assert settings.kek
    assert settings.index_key
    optin = await program(client, as_admin, ["email"])
    position = 0
    for n in range(3):
        asked = await ask(client, as_admin, optin, pii.email())
        position = max(position, asked["position"])
        if n < 2:
            code = await latest_code(pool, settings.kek, settings.index_key, asked["contact_id"])
            done = await client.post(
                f"/v1/verifications/{asked['verification_id']}/confirm", json={"code": code}
            )
            position = max(position, int(done.headers["ledger-position"]))
        if n == 1:
            out = await client.post(
                "/v1/consent-requests",
                json={
                    "optin_id": optin,
                    "action": "opt_out",
                    "contact_id": asked["contact_id"],
                    "source": "admin",
                    "reason": "asked by letter",
                },
                headers=as_admin,
            )
            position = max(position, int(out.headers["ledger-position"]))
    response = await client.get(
        "/v1/admin/analytics", params={"min_position": position, "pending_days": 0}, headers=as_admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    [today] = [d for d in body["days"] if d["optin_id"] == optin]
    assert (today["requested"], today["granted"], today["withdrawn"]) == (3, 2, 1)
    assert today["opt_in_rate"] == round(2 / 3, 4)
    assert today["opt_out_rate"] == round(1 / 3, 4)
    assert body["verification"]["issued"] == 3
    assert body["verification"]["confirmed"] == 2
    assert body["pending_older_than"]["count"] == 1
    bad = await client.get(
        "/v1/admin/analytics", params={"from": "2026-02-01", "to": "2026-01-01"}, headers=as_admin
    )
    assert bad.status_code in (400, 422)
