"""API key answers: one lookup for a crowd, refreshed in the background, never kept past `ttl`."""

from __future__ import annotations

import asyncio

import pytest

from api.auth.key_answers import KeyAnswers
from api.auth.principal import Principal
from api.auth.tokens import InvalidTokenError

KEY = b"k" * 32
ALLOWED = Principal(kind="api_key", id="key-1", role="service")


class Directory:
    """The lookup: counts its calls, answers from `refused`/`failing`, and can be held open."""

    def __init__(self) -> None:
        self.calls = 0
        self.refused = False
        self.failing: Exception | None = None
        self.gate = asyncio.Event()
        self.gate.set()

    async def lookup(self, key_hash: bytes) -> Principal:
        assert key_hash == KEY
        self.calls += 1
        await self.gate.wait()
        if self.failing is not None:
            raise self.failing
        if self.refused:
            raise InvalidTokenError("this API key was revoked")
        return ALLOWED


async def test_a_crowd_without_an_answer_is_answered_by_one_lookup() -> None:
    directory = Directory()
    directory.gate.clear()
    answers = KeyAnswers(directory.lookup, ttl=5.0, refresh_after=4.0)
    crowd = [asyncio.create_task(answers.principal(KEY)) for _ in range(32)]
    await asyncio.sleep(0.01)
    directory.gate.set()
    assert await asyncio.gather(*crowd) == [ALLOWED] * 32
    assert directory.calls == 1
    assert await answers.principal(KEY) == ALLOWED
    assert directory.calls == 1  # reused


async def test_an_aging_answer_is_refreshed_in_the_background_while_requests_keep_it() -> None:
    directory = Directory()
    answers = KeyAnswers(directory.lookup, ttl=2.0, refresh_after=0.5)
    assert await answers.principal(KEY) == ALLOWED  # asked at 0 s: kept until 2 s
    await asyncio.sleep(0.6)
    directory.gate.clear()  # the refresh hangs: requests must not wait for it
    for _ in range(20):
        assert await asyncio.wait_for(answers.principal(KEY), 0.2) == ALLOWED
    assert directory.calls == 2  # one refresh, however many requests saw the answer aging
    directory.gate.set()
    await asyncio.sleep(1.7)  # past the first answer's 2 s; the refreshed one (0.6 s) serves
    directory.gate.clear()
    assert await asyncio.wait_for(answers.principal(KEY), 0.2) == ALLOWED  # without waiting
    assert directory.calls == 3  # the refreshed answer is aging too: its own refresh began
    directory.gate.set()


async def test_a_refusal_found_by_a_refresh_takes_effect_at_the_next_request() -> None:
    directory = Directory()
    answers = KeyAnswers(directory.lookup, ttl=5.0, refresh_after=0.05)
    assert await answers.principal(KEY) == ALLOWED
    await asyncio.sleep(0.06)
    directory.refused = True  # revoked through another replica
    assert await answers.principal(KEY) == ALLOWED  # starts the refresh
    await asyncio.sleep(0.01)
    with pytest.raises(InvalidTokenError, match="revoked"):
        await answers.principal(KEY)
    with pytest.raises(InvalidTokenError):
        await answers.principal(KEY)
    assert directory.calls == 4  # refusals are not kept: each request asks


async def test_an_answer_is_never_served_past_ttl_from_when_it_was_asked() -> None:
    directory = Directory()
    answers = KeyAnswers(directory.lookup, ttl=1.0, refresh_after=0.1)
    assert await answers.principal(KEY) == ALLOWED
    directory.refused = True
    directory.gate.clear()  # the background refresh cannot answer in time
    await asyncio.sleep(0.15)
    assert await answers.principal(KEY) == ALLOWED  # still within ttl; the refresh starts
    await asyncio.sleep(0.9)  # now past ttl: the request waits for the lookup under way
    waiting = asyncio.create_task(answers.principal(KEY))
    await asyncio.sleep(0.02)
    assert not waiting.done()
    directory.gate.set()
    with pytest.raises(InvalidTokenError):
        await waiting
    assert directory.calls == 2


async def test_a_database_failure_in_a_refresh_keeps_the_answer_until_its_ttl_only() -> None:
    directory = Directory()
    answers = KeyAnswers(directory.lookup, ttl=1.0, refresh_after=0.05)
    assert await answers.principal(KEY) == ALLOWED
    await asyncio.sleep(0.06)
    directory.failing = ConnectionRefusedError("the database is down")
    assert await answers.principal(KEY) == ALLOWED  # the refresh fails in the background
    await asyncio.sleep(0.01)
    assert await answers.principal(KEY) == ALLOWED  # kept: a refusal it is not
    await asyncio.sleep(1.0)
    with pytest.raises(ConnectionRefusedError):
        await answers.principal(KEY)


async def test_forgetting_drops_answers_and_what_a_lookup_under_way_would_store() -> None:
    directory = Directory()
    answers = KeyAnswers(directory.lookup, ttl=5.0, refresh_after=4.0)
    assert await answers.principal(KEY) == ALLOWED
    answers.forget()  # the account changed through this process
    directory.gate.clear()
    under_way = asyncio.create_task(answers.principal(KEY))
    await asyncio.sleep(0.01)
    answers.forget()  # and changed again while this lookup was out
    directory.gate.set()
    assert await under_way == ALLOWED  # asked before the change: its own answer, not stored
    directory.refused = True
    with pytest.raises(InvalidTokenError):
        await answers.principal(KEY)
    assert directory.calls == 3


async def test_a_request_that_gives_up_does_not_cancel_the_lookup_others_wait_for() -> None:
    directory = Directory()
    directory.gate.clear()
    answers = KeyAnswers(directory.lookup, ttl=5.0, refresh_after=4.0)
    impatient = asyncio.create_task(answers.principal(KEY))
    patient = asyncio.create_task(answers.principal(KEY))
    await asyncio.sleep(0.01)
    impatient.cancel()
    directory.gate.set()
    assert await patient == ALLOWED
    assert directory.calls == 1


def test_refresh_after_must_fall_within_ttl() -> None:
    with pytest.raises(ValueError, match="between 0 and ttl"):
        KeyAnswers(Directory().lookup, ttl=1.0, refresh_after=1.0)
