"""The inbound SMTP listener (aiosmtpd): the bounce return path and the unsubscribe mailbox.

It runs on the service's own event loop, on its own port, and takes mail only for the bounce
address (with or without a `+token`) and the unsubscribe address; every other recipient is
refused at RCPT, so it is no open relay and no catch-all. Each accepted message is handed to
`deliver` before the server answers the end of DATA: a failure there answers 451, and the
sending server keeps the message and tries again later. Nothing received is written to disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP

log = structlog.get_logger(__name__)

Deliver = Callable[[bytes, Sequence[str]], Awaitable[None]]
"""Called with the raw message and its accepted envelope recipients."""


class _Mailboxes:
    """aiosmtpd's handler: which recipients we take, and what happens to a message."""

    def __init__(self, accepts: Callable[[str], bool], deliver: Deliver) -> None:
        self.accepts = accepts
        self.deliver = deliver

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if not self.accepts(address):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        try:
            await self.deliver(bytes(raw), list(envelope.rcpt_tos))
        except Exception as e:
            log.error("inbound mail could not be processed; the sender will retry", exc_info=e)
            return "451 4.3.0 Temporary failure, try again later"
        return "250 2.0.0 Accepted"


class InboundSmtp:
    """An SMTP server on `host:port` (port 0: any free port; `port` tells which after `start`)."""

    def __init__(
        self,
        host: str,
        port: int,
        accepts: Callable[[str], bool],
        deliver: Deliver,
        *,
        hostname: str,
        max_size: int,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._handler = _Mailboxes(accepts, deliver)
        self._hostname = hostname
        self._max_size = max_size
        self._tls = tls_context
        self._server: asyncio.Server | None = None
        self._sessions: set[SMTP] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def session() -> SMTP:
            smtp = SMTP(
                self._handler,
                hostname=self._hostname,
                data_size_limit=self._max_size,
                enable_SMTPUTF8=True,
                tls_context=self._tls,
                timeout=60,
                loop=loop,
            )
            # ended sessions have dropped their transport: forget them as new ones come
            self._sessions = {s for s in self._sessions if s.transport is not None} | {smtp}
            return smtp

        self._server = await loop.create_server(session, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("inbound SMTP listening", host=self.host, port=self.port, starttls=self._tls is not None)

    async def close(self) -> None:
        """Stop listening and end open sessions (a message mid-DATA is retried by its sender)."""
        if self._server is None:
            return
        self._server.close()
        for smtp in list(self._sessions):
            if smtp.transport is not None:
                smtp.transport.close()
        self._sessions.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), timeout=5)
        self._server = None
