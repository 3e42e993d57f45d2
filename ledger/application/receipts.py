"""Delivery receipts from the SMS provider: a sent message becomes delivered or undelivered.

A receipt can beat the worker: the provider took the message and reported on it before the
worker recorded the provider's answer. Then the receipt waits (briefly) for that record rather
than be lost, and asks the provider to try again later if it does not come (`TryLaterError`).
"""

from __future__ import annotations

import asyncio
from typing import Literal
from uuid import UUID

from ledger.errors import ConflictError, TryLaterError
from ledger.message import Message
from ledger.ports import Clock
from ledger.repository import Repository

DELIVERED = frozenset({"delivered", "read"})
UNDELIVERED = frozenset({"undelivered", "failed"})
Unknown = Literal["unknown_message", "unknown_message_sid"]


class DeliveryReceipts:
    def __init__(self, repository: Repository, clock: Clock, *, wait: float = 3.0) -> None:
        self.repository = repository
        self.clock = clock
        self.wait = wait

    async def record(
        self, message_id: UUID, provider_id: str | None, state: str, error_code: str | None
    ) -> Unknown | None:
        """Record a final state (`DELIVERED` or `UNDELIVERED`); others change nothing. A receipt
        for a message or provider id that is not ours changes nothing either, and says which."""
        if state not in DELIVERED | UNDELIVERED:
            return None  # queued, sending, sent: nothing new for us
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        while True:  # the worker may be writing this message's stream right now
            message = await self.repository.find(Message, message_id)
            if message is None:
                return "unknown_message"
            if message.provider_id is None and message.status in ("queued", "retrying"):
                if loop.time() >= deadline:
                    raise TryLaterError("this message's send is still being recorded; try again")
                await asyncio.sleep(0.05)
                continue
            if message.provider_id != provider_id:
                return "unknown_message_sid"
            message.report(state, state in DELIVERED, error_code, self.clock.now())
            try:
                await self.repository.save(message)
                return None
            except ConflictError:
                if loop.time() >= deadline:
                    raise TryLaterError("this message is being changed; try again") from None
