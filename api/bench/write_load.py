"""A small HTTP/1.1 load generator for writes, run as its own process by `bench command`.

Closed loop like `api.bench.load`, but each connection runs a script of POSTs whose later steps
use ids from earlier answers. `flow` (the service): register a contact, ask for consent, confirm
with the code, send a message. `insert` (the baseline): one POST per iteration. Prints JSON:
requests, flows, errors, seconds, per_s (requests), flows_per_s, p50_ms, p99_ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from typing import Any

import msgspec

from api.bench import run_like_serve

_decode = msgspec.json.Decoder().decode


class _Http:
    """One keep-alive connection: POST JSON, read the status and the JSON answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        self.reader, self.writer, self.head = reader, writer, head
        self.latencies: list[float] = []
        self.errors = 0
        self.failed: dict[str, int] = {}  # "<path> <status>": count, to say what failed

    async def post(self, path: str, body: dict[str, Any], expect: int) -> Any:
        payload = msgspec.json.encode(body)
        started = time.perf_counter()
        self.writer.write(
            b"POST %s HTTP/1.1\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (path.encode(), self.head, len(payload), payload)
        )
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        answer = await self.reader.readexactly(length)
        self.latencies.append(time.perf_counter() - started)
        if int(status_line[9:12]) != expect:
            self.errors += 1
            what = f"{path.split('/')[2] if path.count('/') > 1 else path} {status_line[9:12].decode()}"
            self.failed[what] = self.failed.get(what, 0) + 1
            raise _Failed(answer.decode(errors="replace")[:200])
        return _decode(answer) if answer else None


class _Failed(Exception):
    pass


async def _flow(http: _Http, spec: dict[str, Any], n: int) -> None:
    address = f"load{n}-{uuid.uuid4().hex[:8]}@bench.example.org"
    contact = await http.post("/v1/contacts", {"channel": "email", "address": address}, 201)
    asked = await http.post(
        "/v1/consent-requests",
        {"optin_id": spec["optin_id"], "action": "opt_in", "contact_id": contact["id"]},
        202,
    )
    await http.post(f"/v1/verifications/{asked['verification_id']}/confirm", {"code": spec["code"]}, 200)
    body = {"contact_id": contact["id"], "optin_id": spec["optin_id"], "kind": "optin_confirmation"}
    await http.post("/v1/messages/send", body, 202)


async def _insert(http: _Http, spec: dict[str, Any], n: int) -> None:
    await http.post("/insert", {"stream": str(uuid.uuid4()), "n": n}, 201)


async def _connection(
    host: str, port: int, head: bytes, script: str, spec: dict[str, Any], offset: int, deadline: float
) -> tuple[list[float], int, dict[str, int]]:
    reader, writer = await asyncio.open_connection(host, port)
    http, flows, step = _Http(reader, writer, head), 0, _flow if script == "flow" else _insert
    try:
        while time.perf_counter() < deadline:
            try:
                await step(http, spec, offset + flows)
                flows += 1
            except _Failed:
                await asyncio.sleep(0.01)
    finally:
        writer.close()
    return http.latencies, flows, http.failed


async def run(
    url: str, script: str, spec: dict[str, Any], connections: int, seconds: float
) -> dict[str, Any]:
    host_port = url.split("://", 1)[1].rstrip("/")
    host, _, port = host_port.partition(":")
    head = f"Host: {host_port}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in spec.get("headers", {}).items())
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    results = await asyncio.gather(
        *(
            _connection(host, int(port), head.encode(), script, spec, n * 1_000_000, deadline)
            for n in range(connections)
        )
    )
    elapsed = time.perf_counter() - started
    latencies = sorted(t for r in results for t in r[0])
    count = len(latencies)
    failed: dict[str, int] = {}
    for _, _, by_kind in results:
        for what, n in by_kind.items():
            failed[what] = failed.get(what, 0) + n
    return {
        "requests": count,
        "flows": sum(r[1] for r in results),
        "errors": sum(failed.values()),
        "failed": failed,
        "seconds": round(elapsed, 3),
        "per_s": round(count / elapsed, 1),
        "flows_per_s": round(sum(r[1] for r in results) / elapsed, 1),
        "p50_ms": round(latencies[count // 2] * 1000, 3) if count else 0.0,
        "p99_ms": round(latencies[int(count * 0.99)] * 1000, 3) if count else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--script", choices=["flow", "insert"], required=True)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    spec = json.load(sys.stdin)  # {"headers": {...}, "optin_id": ..., "code": ...}
    print(json.dumps(run_like_serve(run(args.url, args.script, spec, args.connections, args.seconds))))


if __name__ == "__main__":
    main()
