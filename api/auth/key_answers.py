"""What an API key is allowed, reused briefly: the consent check's credential without a query each.

An answer from the database is reused for at most `ttl` seconds after the query that gave it was
sent, so a key revoked through another replica is refused within that time. Two things keep the
hot path from paying for that bound:

- A key in use is asked again in the background once its answer is `refresh_after` seconds old;
  requests keep the answer they have meanwhile. Before, every answer ran out at once and every
  request in flight at that moment queried the database: with 32 connections on one key, a burst
  of 32 queries a second, which put the consent check's p99 at 1.16–1.22× a bare endpoint's
  (`bench consent`, five runs; with this, seven runs: 0.95–1.17×, median 1.03×).
- However many requests find no answer at once, one query asks for them all.

A refusal is not kept, and drops the answer it replaces: the next request asks again. A lookup
that failed for want of the database leaves the answer it would have replaced to run out as usual.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from api.auth.principal import Principal
from api.auth.tokens import InvalidTokenError

Lookup = Callable[[bytes], Awaitable[Principal]]


class KeyAnswers:
    """`lookup(key hash)`: the principal, `InvalidTokenError` (refused), or the database's error."""

    def __init__(self, lookup: Lookup, *, ttl: float, refresh_after: float, limit: int = 10_000) -> None:
        if not 0 < refresh_after < ttl:
            raise ValueError("refresh_after must be between 0 and ttl")
        self._lookup = lookup
        self._ttl = ttl
        self._refresh_after = refresh_after
        self._limit = limit
        self._answers: dict[bytes, tuple[float, Principal]] = {}  # key hash: (asked at, answer)
        self._asking: dict[bytes, asyncio.Task[Principal]] = {}
        self._generation = 0  # bumped by `forget`: a lookup already under way must not store

    def forget(self) -> None:
        """Drop every answer, and whatever lookups under way would store: an account changed."""
        self._answers.clear()
        self._asking.clear()
        self._generation += 1

    def cached(self, key_hash: bytes) -> Principal | None:
        """The answer still in date, if any, without waiting (the hot path: no coroutine); one
        old enough to refresh starts its refresh in the background."""
        answer = self._answers.get(key_hash)
        if answer is None:
            return None
        age = time.monotonic() - answer[0]
        if age >= self._ttl:
            return None
        if age >= self._refresh_after and key_hash not in self._asking:
            self._ask(key_hash)  # in the background: this request keeps its answer
        return answer[1]

    async def principal(self, key_hash: bytes) -> Principal:
        """The answer in date, or the database's: one lookup however many ask at once."""
        answer = self.cached(key_hash)
        if answer is not None:
            return answer
        asking = self._asking.get(key_hash) or self._ask(key_hash)
        # Shielded: a request that gives up does not cancel the lookup the others wait for.
        return await asyncio.shield(asking)

    def _ask(self, key_hash: bytes) -> asyncio.Task[Principal]:
        task = asyncio.get_running_loop().create_task(self._fetch(key_hash, self._generation))
        self._asking[key_hash] = task
        task.add_done_callback(lambda done: self._done(key_hash, done))
        return task

    async def _fetch(self, key_hash: bytes, generation: int) -> Principal:
        asked_at = time.monotonic()
        try:
            principal = await self._lookup(key_hash)
        except InvalidTokenError:
            if generation == self._generation:
                self._answers.pop(key_hash, None)
            raise
        if generation == self._generation:
            if len(self._answers) >= self._limit:
                self._answers.clear()
            self._answers[key_hash] = (asked_at, principal)
        return principal

    def _done(self, key_hash: bytes, task: asyncio.Task[Principal]) -> None:
        if self._asking.get(key_hash) is task:
            del self._asking[key_hash]
        if not task.cancelled():
            task.exception()  # a background refresh's failure is the next request's to meet
