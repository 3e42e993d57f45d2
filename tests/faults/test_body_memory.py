"""Anonymous bodies cannot blow up the process: 32 concurrent oversize or pathological requests
to the public endpoints leave a real `serve` within 100 MB of the memory it started with.

Oversize bodies are refused from their `Content-Length` (or, streamed without one, as soon as
they pass the endpoint's limit) before anything is decoded; bodies within the limit that decode
into many objects are small enough that it does not matter.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests import pii
from tests.faults.service import start_service

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
EMPTY_OBJECTS = b"[" + b"{}," * (MIB // 3 - 2) + b"{}]"  # under 1 MiB; decoded: 350,000 dicts


async def streamed(body: bytes, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    """`body` in chunks, slowly: all 32 requests are being received at once."""
    for start in range(0, len(body), chunk):
        yield body[start : start + chunk]
        await asyncio.sleep(0.01)


class PeakMemory:
    """The largest resident set of a process, sampled every few milliseconds in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._running = False
        self._thread.join()

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.002)


async def hostile(client: httpx.AsyncClient, n: int) -> httpx.Response | str:
    """The n-th of 32 requests: oversize (announced or streamed) or pathological within the limit."""
    headers = {"content-type": "application/json"}
    try:
        match n % 8:
            case 0 | 1 | 2 | 3 | 4:  # announced: refused from Content-Length, nothing read
                sized = {**headers, "content-length": str(len(EMPTY_OBJECTS))}
                stream = streamed(EMPTY_OBJECTS)
                return await client.post("/v1/public/verifications", content=stream, headers=sized)
            case 5:  # unannounced (chunked): refused once past the limit
                stream = streamed(EMPTY_OBJECTS)
                return await client.post("/v1/public/verifications/confirm", content=stream, headers=headers)
            case 6:
                deep = b"[" * 2000 + b"]" * 2000  # nested as deep as the limit allows
                return await client.post("/v1/public/verifications", content=deep, headers=headers)
            case _:
                form = b"username=" + b"a" * MIB + b"&password=x"
                kind = {"content-type": "application/x-www-form-urlencoded"}
                return await client.post("/v1/auth/token", content=form, headers=kind)
    except httpx.TransportError as e:  # the server may hang up on a body it refused mid-stream
        return type(e).__name__


async def test_32_concurrent_hostile_public_requests_leave_memory_within_100_mb(
    database_url: str, tmp_path: Path
) -> None:
    service = await start_service(database_url, tmp_path / "data")
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
            for n in range(8):  # warm every path once: lazily imported code is not what we measure
                await hostile(client, n)
                await client.post(
                    "/v1/public/verifications", json={"channel": "email", "address": pii.email()}
                )
            started = psutil.Process(service.proc.pid).memory_info().rss
            with PeakMemory(service.proc.pid) as memory:
                answers = await asyncio.gather(*(hostile(client, n) for n in range(32)))
                after = psutil.Process(service.proc.pid).memory_info().rss
    finally:
        service.stop()

    grew = (memory.peak - started) / MIB
    print(f"rss {started / MIB:.0f} MiB; peak +{grew:.1f} MiB, after +{(after - started) / MIB:.1f} MiB")
    assert grew < 100, f"the process grew by {grew:.0f} MiB"
    statuses = [a if isinstance(a, str) else a.status_code for a in answers]
    errors = [line for line in service.lines() if line.get("level") in ("error", "critical")]
    assert not errors, errors[0].get("exception", errors[0])[-600:]
    assert all(s in (413, 400, 422, "RemoteProtocolError", "WriteError") for s in statuses), statuses
    assert statuses.count(413) >= 20, statuses  # every announced oversize body, most streamed ones
    for answer in answers:
        if isinstance(answer, httpx.Response):
            assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
