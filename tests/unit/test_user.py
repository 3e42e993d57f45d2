"""The staff user aggregate: given events, when a command, then events (or a refusal)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from ledger.codec import LedgerMapper
from ledger.errors import InvalidCommandError, InvalidValueError, NotFoundError
from ledger.user import User, create_user, normalise_staff_email
from ledger.vocabulary import Actor

ADMIN = Actor(kind="user", id="admin-1", correlation_id="req-1")


def account(role: str = "staff") -> User:
    user = create_user(email="Jane.Doe@Example.org", role=role, actor=ADMIN)  # type: ignore[arg-type]
    user.collect_events()
    return user


def test_created_user_keeps_only_the_masked_email() -> None:
    user = create_user(email=" Jane.Doe@Example.ORG ", role="auditor", actor=ADMIN)
    [created] = user.collect_events()
    assert isinstance(created, User.Created)
    assert created.email_masked == "j***@e***.org"
    stored = LedgerMapper().to_stored_event(created)
    assert b"jane" not in stored.state.lower()
    assert b"example" not in stored.state.lower()
    assert stored.topic == "user.created"


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b", "two@@example.org", "sp ace@example.org"])
def test_malformed_emails_are_refused(email: str) -> None:
    with pytest.raises(InvalidValueError):
        normalise_staff_email(email)


def test_role_changes_record_the_previous_role_and_skip_no_ops() -> None:
    user = account()
    user.change_role("staff", ADMIN)
    assert user.collect_events() == []
    user.change_role("auditor", ADMIN)
    [changed] = user.collect_events()
    assert isinstance(changed, User.RoleChanged)
    assert (changed.previous, changed.role, changed.actor) == ("staff", "auditor", ADMIN)


def test_disable_and_reenable_are_idempotent() -> None:
    user = account()
    user.disable(ADMIN)
    user.disable(ADMIN)
    user.reenable(ADMIN)
    user.reenable(ADMIN)
    assert [type(e) for e in user.collect_events()] == [User.Disabled, User.Reenabled]
    assert not user.disabled


def test_api_keys_only_for_enabled_service_accounts() -> None:
    with pytest.raises(InvalidCommandError):
        account("staff").issue_api_key(uuid.uuid4(), "olk_abc", b"h" * 32, ADMIN)
    service = account("service")
    service.disable(ADMIN)
    with pytest.raises(InvalidCommandError):
        service.issue_api_key(uuid.uuid4(), "olk_abc", b"h" * 32, ADMIN)


def test_revoking_a_key_once_and_unknown_keys() -> None:
    service = account("service")
    key_id = uuid.uuid4()
    service.issue_api_key(key_id, "olk_abc", b"h" * 32, ADMIN)
    service.revoke_api_key(key_id, ADMIN)
    service.revoke_api_key(key_id, ADMIN)
    assert [type(e) for e in service.collect_events()] == [User.ApiKeyIssued, User.ApiKeyRevoked]
    with pytest.raises(NotFoundError):
        service.revoke_api_key(uuid.uuid4(), ADMIN)


def test_every_event_round_trips_through_the_mapper_by_stable_topic() -> None:
    mapper = LedgerMapper()
    service = create_user(email="svc@example.org", role="service", actor=ADMIN)
    key_id = uuid.uuid4()
    service.issue_api_key(key_id, "olk_abc", b"\x00" * 32, ADMIN)
    service.record_login_failure("wrong_password", Actor(kind="system", id="login"))
    service.record_login_block(datetime(2030, 1, 1, tzinfo=UTC), Actor(kind="system", id="login"))
    service.record_password_change(ADMIN)
    service.change_role("staff", ADMIN)
    service.disable(ADMIN)
    service.reenable(ADMIN)
    service.revoke_api_key(key_id, ADMIN)
    events = service.collect_events()
    topics = [mapper.to_stored_event(e).topic for e in events]
    assert all(t.startswith("user.") for t in topics)
    assert len(set(topics)) == len(topics)
    replayed = None
    for e in events:
        replayed = mapper.to_domain_event(mapper.to_stored_event(e)).mutate(replayed)  # type: ignore[attr-defined]
    assert isinstance(replayed, User)
    assert (replayed.role, replayed.disabled, replayed.api_keys) == ("staff", False, {key_id: True})
