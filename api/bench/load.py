"""A small HTTP/1.1 load generator, run as its own process by `bench consent`.

Closed loop: N keep-alive connections, each sending the next request as soon as the last answer
is in. Requests are written as preformatted bytes and answers parsed just enough (status line,
Content-Length) so the client costs little CPU next to the server it measures. Prints JSON:
requests, errors, seconds, per_s, p50_ms, p99_ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from api.bench import run_like_serve


async def _connection(
    host: str, port: int, requests: list[bytes], offset: int, deadline: float, latencies: list[float]
) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    errors, i = 0, offset
    try:
        while time.perf_counter() < deadline:
            request = requests[i % len(requests)]
            i += 1
            started = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status_line[9:12] != b"200":
                errors += 1
    finally:
        writer.close()
    return errors


async def run(
    url: str, paths: list[str], headers: dict[str, str], connections: int, seconds: float
) -> dict[str, float]:
    host_port = url.split("://", 1)[1].rstrip("/")
    host, _, port = host_port.partition(":")
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    requests = [f"GET {p} HTTP/1.1\r\nHost: {host_port}\r\n{head}\r\n".encode() for p in paths]
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    errors = await asyncio.gather(
        *(_connection(host, int(port), requests, n * 7, deadline, latencies) for n in range(connections))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    count = len(latencies)
    return {
        "requests": count,
        "errors": sum(errors),
        "seconds": round(elapsed, 3),
        "per_s": round(count / elapsed, 1),
        "p50_ms": round(latencies[count // 2] * 1000, 3) if count else 0.0,
        "p99_ms": round(latencies[int(count * 0.99)] * 1000, 3) if count else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    spec = json.load(sys.stdin)  # {"paths": [...], "headers": {...}}
    result = run_like_serve(run(args.url, spec["paths"], spec["headers"], args.connections, args.seconds))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
