"""The verification aggregate (one one-time code): given events, when an attempt, then events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from ledger.verification import CODE_TTL, MAX_ATTEMPTS, Attempt, Verification, issue_verification
from tests.unit.world import STAFF, given, then

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RIGHT, WRONG = b"right-hash", b"wrong-hash"


def issued() -> Verification:
    return given(
        issue_verification(
            uuid.uuid4(), contact_id=uuid.uuid4(), channel="sms", code_hash=RIGHT, sealed_code=b"sealed",
            now=NOW, optin_id=uuid.uuid4(), action="opt_in", actor=STAFF,
        )
    )  # fmt: skip


def test_a_code_is_open_for_its_time_to_live() -> None:
    code = issued()
    assert code.open
    assert code.expires_at == NOW + CODE_TTL


def test_the_right_code_confirms_once() -> None:
    code = issued()
    assert code.attempt(RIGHT, NOW) is Attempt.CONFIRMED
    assert then(code) == ["verification.confirmed"]
    assert code.attempt(RIGHT, NOW) is Attempt.USED
    assert then(code) == []


def test_wrong_codes_are_counted_and_the_last_allowed_one_locks() -> None:
    code = issued()
    outcomes = [code.attempt(WRONG, NOW) for _ in range(MAX_ATTEMPTS)]
    assert outcomes == [Attempt.WRONG] * (MAX_ATTEMPTS - 1) + [Attempt.LOCKED]
    assert then(code) == ["verification.failed"] * MAX_ATTEMPTS + ["verification.locked"]
    assert code.attempt(RIGHT, NOW) is Attempt.LOCKED  # even the right code, from now on
    assert then(code) == []


def test_a_failure_names_its_attempt_number() -> None:
    code = issued()
    code.attempt(WRONG, NOW)
    code.attempt(WRONG, NOW)
    assert [e.attempt for e in code.collect_events()] == [1, 2]  # type: ignore[attr-defined]


def test_at_its_expiry_the_code_expires_even_when_right() -> None:
    code = issued()
    assert code.attempt(RIGHT, NOW + CODE_TTL) is Attempt.EXPIRED
    assert then(code) == ["verification.expired"]
    assert code.attempt(RIGHT, NOW) is Attempt.EXPIRED  # the clock going back does not reopen it
    assert then(code) == []


def test_expire_closes_only_open_codes_past_their_time() -> None:
    code = issued()
    code.expire(NOW + CODE_TTL - timedelta(seconds=1))
    assert then(code) == []
    code.expire(NOW + CODE_TTL)
    assert then(code) == ["verification.expired"]
    confirmed = issued()
    confirmed.attempt(RIGHT, NOW)
    confirmed.collect_events()
    confirmed.expire(NOW + CODE_TTL)
    assert then(confirmed) == []
