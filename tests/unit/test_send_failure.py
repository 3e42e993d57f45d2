"""Send failures in the ledger: category and code in clear, the provider's words only sealed;
events written before that rule (the text in clear) still read, masked again and marked legacy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
from eventsourcing.persistence import StoredEvent

from ledger.codec import LedgerMapper
from ledger.message import Basis, Message, Sealed, request_message
from ledger.send_failure import Failure
from ledger.vocabulary import SYSTEM

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MAPPER = LedgerMapper()


def queued() -> Message:
    message = request_message(
        uuid.uuid4(), contact_id=uuid.uuid4(), channel="email", kind="transactional",
        purpose="transactional", optin_id=None, idempotency_key=None, actor=SYSTEM,
    )  # fmt: skip
    message.queue(Basis(rule="transactional"), None, Sealed(text=b"x", variables=b"y"), "p", None, False)
    return message


def replayed(stored: list[StoredEvent]) -> Message:
    rebuilt = None
    for event in stored:
        rebuilt = MAPPER.to_domain_event(event).mutate(rebuilt)  # type: ignore[attr-defined]
    assert isinstance(rebuilt, Message)
    return rebuilt


def test_a_failure_keeps_category_and_code_in_clear_and_the_text_only_sealed() -> None:
    message = queued()
    message.failed(Failure("recipient_refused", "550", b"ciphertext"), NOW + timedelta(minutes=1), NOW)
    message.dead_letter(Failure("recipient_refused", "550", b"ciphertext"), NOW)
    stored = [MAPPER.to_stored_event(e) for e in message.collect_events()]
    for event in stored[-2:]:
        state = msgspec.json.decode(event.state)
        assert "error" not in state and state["class_version"] == 2
        assert (state["category"], state["code"], state["legacy_error"]) == ("recipient_refused", "550", None)
    rebuilt = replayed(stored)
    assert (rebuilt.status, rebuilt.reason) == ("dead_lettered", "recipient_refused 550")


def test_an_old_failure_with_its_text_in_clear_still_reads_masked_and_marked_legacy() -> None:
    message = queued()
    message.failed(Failure("deferred", "451", None), NOW + timedelta(minutes=1), NOW)
    created, queued_event, failed = (MAPPER.to_stored_event(e) for e in message.collect_events())
    old = msgspec.json.decode(failed.state)
    for field in ("class_version", "category", "code", "sealed_detail", "legacy_error"):
        del old[field]
    # What the previous release wrote: the provider's text in clear, scrubbed ASCII-only.
    old["error"] = "SMTP 550: 5.1.1 <jürgen.müller@bücher.de>: unknown user, call +1 415 555 0100"
    v1 = StoredEvent(failed.originator_id, failed.originator_version, failed.topic, msgspec.json.encode(old))
    event = MAPPER.to_domain_event(v1)
    assert isinstance(event, Message.Failed)
    assert (event.category, event.code, event.sealed_detail) == ("legacy", None, None)
    assert event.legacy_error == "SMTP 550: 5.1.1 <j***@b***.de>: unknown user, call +1*******100"
    rebuilt = replayed([created, queued_event, v1])
    assert rebuilt.status == "retrying" and rebuilt.reason == f"legacy: {event.legacy_error}"
