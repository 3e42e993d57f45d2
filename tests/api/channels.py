"""Helpers for the messaging tests: a program, a contact, a confirmed opt-in, waiting for the worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]
T = TypeVar("T")


async def program(
    client: Client,
    h: dict[str, str],
    channels: list[str],
    purpose: str = "marketing",
    name: str = "Weekly offers",
    *,
    seen: bool = True,
) -> str:
    made = await client.post(
        "/v1/optins",
        json={
            "name": name,
            "purpose": purpose,
            "channels": channels,
            "disclosure": "Offers by email or SMS. Reply STOP to stop.",
        },
        headers=h,
    )
    assert made.status_code == 201, made.text
    optin = str(made.json()["id"])
    if seen:  # read-your-write: in the read models (a bulk check of it answered) when this returns
        read = await client.get(
            f"/v1/optins/{optin}?min_position={made.headers['ledger-position']}", headers=h
        )
        assert read.status_code == 200, read.text
    return optin


async def contact(client: Client, h: dict[str, str], channel: str, address: str) -> str:
    made = await client.post("/v1/contacts", json={"channel": channel, "address": address}, headers=h)
    assert made.status_code in (200, 201), made.text
    return str(made.json()["id"])


async def ask(client: Client, h: dict[str, str], optin: str, contact_id: str) -> str:
    """A staff consent request; the verification id whose code the contact gets."""
    asked = await client.post(
        "/v1/consent-requests",
        json={"optin_id": optin, "action": "opt_in", "contact_id": contact_id},
        headers=h,
    )
    assert asked.status_code == 202, asked.text
    return str(asked.json()["verification_id"])


async def confirm(client: Client, verification_id: str, code: str) -> int:
    done = await client.post(f"/v1/verifications/{verification_id}/confirm", json={"code": code})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "opted_in"
    return int(done.headers["ledger-position"])


async def send(client: Client, h: dict[str, str], path: str = "/v1/messages/send", /, **body: Any) -> Any:
    return await client.post(path, json=body, headers=h)


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float = 10.0) -> T:
    """The first truthy result of `probe`, polled until `timeout` (the worker runs apart)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await probe()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


async def message(client: Client, h: dict[str, str], message_id: str, status: str | None = None) -> Any:
    """The message as staff see it, once it has `status` (any, if None)."""

    async def probe() -> Any:
        got = await client.get(f"/v1/messages/{message_id}", headers=h)
        if got.status_code != 200:
            return None
        body = got.json()
        return body if status is None or body["message"]["status"] == status else None

    return await eventually(probe)
