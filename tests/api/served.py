"""The app behind a real uvicorn server configured as `optin-ledger serve` configures it.

The ASGI test client has no real peer (its "client" is the word `testclient`), so what depends on
the connection's address (rate limits, the login throttle, evidence) is tested over a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import uvicorn
from litestar import Litestar

from api.commands.serve import server_config


@contextlib.asynccontextmanager
async def served(app: Litestar) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port for the duration; yield its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(server_config(app, "127.0.0.1", port))
    server.config.timeout_graceful_shutdown = 2
    serving = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn offers no event to wait on
        if serving.done():
            serving.result()  # start-up failed: say why
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
