"""An import's worker processes append through the parent's one event store.

Workers plan their partitions side by side (the Python work); every append goes to the parent
over a socket, and the parent hands them to its event store, which chains them onto one head and
groups the ones that arrive together. Workers with event stores of their own would race for the
ledger head: each lost race costs a round trip shipping the whole batch, then another under the
head lock. A worker sees `append` answer as its own store would: the position, or
`ConflictError` (a stream changed meanwhile: it plans that chunk again).

Frames are a 4-byte length and a msgpack body: `(number, events)` one way, `(number, position,
error)` the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
import structlog

from ledger.errors import ConflictError
from ledger.ports import EventStore, StoredEvent

log = structlog.get_logger(__name__)

_Events = list[tuple[bytes, int, str, bytes]]
_REQUEST = msgspec.msgpack.Decoder(tuple[int, _Events])
_REPLY = msgspec.msgpack.Decoder(tuple[int, int | None, str | None])
_ENCODE = msgspec.msgpack.Encoder()
_CONFLICT = "conflict:"


def _frame(body: Any) -> bytes:
    data = _ENCODE.encode(body)
    return len(data).to_bytes(4, "big") + data


async def _read(reader: asyncio.StreamReader) -> bytes | None:
    """The next frame's body; None at the end of the stream."""
    try:
        size = int.from_bytes(await reader.readexactly(4), "big")
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        return None


class RemoteAppends:
    """A worker's `append`, made by the parent (`serve_appends`) and answered on `sock`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._numbers = itertools.count()
        self._waiting: dict[int, asyncio.Future[int]] = {}
        self._answers = asyncio.create_task(self._read_answers(reader))

    @classmethod
    async def connect(cls, sock: socket.socket) -> RemoteAppends:
        return cls(*await asyncio.open_connection(sock=sock))

    async def append(self, events: Sequence[StoredEvent]) -> int:
        number = next(self._numbers)
        future = self._waiting[number] = asyncio.get_running_loop().create_future()
        rows = [(_uuid(e.originator_id).bytes, e.originator_version, e.topic, e.state) for e in events]
        self._writer.write(_frame((number, rows)))
        await self._writer.drain()
        position: int = await future
        return position

    async def _read_answers(self, reader: asyncio.StreamReader) -> None:
        while (body := await _read(reader)) is not None:
            number, position, error = _REPLY.decode(body)
            future = self._waiting.pop(number)
            if position is not None:
                future.set_result(position)
            elif error and error.startswith(_CONFLICT):
                future.set_exception(ConflictError(error.removeprefix(_CONFLICT)))
            else:
                future.set_exception(RuntimeError(f"the append failed in the importing process: {error}"))
        self._fail_waiting(RuntimeError("the importing process stopped answering"))

    def _fail_waiting(self, error: BaseException) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)
        self._waiting.clear()

    async def close(self) -> None:
        self._answers.cancel()
        self._fail_waiting(RuntimeError("closed"))
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()


async def serve_appends(sock: socket.socket, store: EventStore) -> None:
    """In the parent: append what one worker sends through `store`, answering each request,
    until the worker closes its end. Requests are taken side by side, so the store groups them."""
    reader, writer = await asyncio.open_connection(sock=sock)
    pending: set[asyncio.Task[None]] = set()

    async def append(number: int, events: _Events) -> None:
        stored = [StoredEvent(UUID(bytes=i), v, t, s) for i, v, t, s in events]
        try:
            reply: tuple[int, int | None, str | None] = (number, await store.append(stored), None)
        except ConflictError as e:
            reply = (number, None, f"{_CONFLICT}{e}")
        except Exception as e:
            log.error("an import append failed", error=str(e))
            reply = (number, None, f"{type(e).__name__}: {e}")
        writer.write(_frame(reply))

    try:
        while (body := await _read(reader)) is not None:
            task = asyncio.create_task(append(*_REQUEST.decode(body)))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(set(pending))
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
