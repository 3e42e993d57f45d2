"""The message aggregate: given events, when a command, then events (or a refusal)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ledger.errors import InvalidCommandError
from ledger.message import Basis, Message, Sealed, message_id_for, request_message
from ledger.send_failure import Failure
from ledger.vocabulary import SYSTEM

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def requested() -> Message:
    return request_message(
        uuid.uuid4(), contact_id=uuid.uuid4(), channel="sms", kind="transactional", purpose="transactional",
        optin_id=uuid.uuid4(), idempotency_key=None, actor=SYSTEM,
    )  # fmt: skip


def queued() -> Message:
    message = requested()
    message.queue(
        Basis(rule="transactional"), None, Sealed(text=b"x", variables=b"y"), "preview", None, False
    )
    return message


def test_a_message_is_queued_or_blocked_once_never_both() -> None:
    message = queued()
    with pytest.raises(InvalidCommandError):
        message.block("opted_out", 3)
    blocked = requested()
    blocked.block("no_consent", None)
    with pytest.raises(InvalidCommandError):
        blocked.sent("twilio", "SM1", NOW)
    assert [type(e).__name__ for e in blocked.collect_events()] == ["Created", "Blocked"]


def test_failures_count_attempts_until_sent_and_receipts_follow_sending() -> None:
    message = queued()
    message.report("delivered", True, None, NOW)  # before it was sent: ignored
    message.failed(Failure("provider_error", "500", b"sealed"), NOW + timedelta(seconds=30), NOW)
    assert (message.status, message.attempts) == ("retrying", 1)
    message.sent("twilio", "SM1", NOW)
    assert (message.status, message.attempts, message.provider_id) == ("sent", 2, "SM1")
    message.report("undelivered", False, "30003", NOW)
    message.report("delivered", True, None, NOW)  # a late receipt changes nothing
    assert (message.status, message.reason) == ("undelivered", "30003")
    with pytest.raises(InvalidCommandError):
        message.cancel("opted_out", NOW)


def test_one_caller_and_key_name_one_message() -> None:
    assert message_id_for("api_key:1", "k") == message_id_for("api_key:1", "k")
    assert message_id_for("api_key:1", "k") != message_id_for("api_key:2", "k")


def test_without_consent_yet_the_invite_goes_instead() -> None:
    message, code = requested(), uuid.uuid4()
    message.divert(code)
    assert (message.status, message.verification_id, message.sendable) == ("diverted", code, False)
    with pytest.raises(InvalidCommandError):
        message.queue(Basis(rule="transactional"), None, Sealed(text=b"x", variables=b"y"), "p", None, False)


def test_a_queued_message_is_cancelled_or_dead_lettered_and_then_never_sent() -> None:
    cancelled, dead = queued(), queued()
    cancelled.cancel("channel_opted_out", NOW)
    dead.failed(Failure("unreachable", None, None), NOW + timedelta(seconds=30), NOW)
    dead.dead_letter(Failure("unreachable", None, None), NOW)
    assert (cancelled.status, cancelled.reason) == ("cancelled", "channel_opted_out")
    assert (dead.status, dead.attempts) == ("dead_lettered", 2)
    for message in (cancelled, dead):
        with pytest.raises(InvalidCommandError):
            message.sent("twilio", "SM1", NOW)
