"""Bearer tokens: staff and contact tokens verify only as themselves, with the right key, in time."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from api.auth.tokens import (
    CONTACT_AUDIENCE,
    ISSUER,
    STAFF_AUDIENCE,
    InvalidTokenError,
    derive_key,
    issue_console_token,
    issue_contact_token,
    issue_staff_token,
    verify_console_token,
    verify_contact_token,
    verify_staff_token,
)

KEY = secrets.token_bytes(32)


def claims(**changes: object) -> dict[str, object]:
    now = datetime.now(UTC)
    base: dict[str, object] = {
        "sub": str(uuid.uuid4()),
        "iss": ISSUER,
        "aud": STAFF_AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": "x",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def staff_signed(payload: dict[str, object], algorithm: str = "HS256") -> str:
    return jwt.encode(payload, derive_key(KEY, "jwt:" + STAFF_AUDIENCE).hex(), algorithm=algorithm)


def test_round_trips() -> None:
    user, contact = uuid.uuid4(), uuid.uuid4()
    assert verify_staff_token(KEY, issue_staff_token(KEY, user)).subject == user
    assert verify_contact_token(KEY, issue_contact_token(KEY, contact)) == contact


def test_staff_tokens_and_console_sessions_carry_the_credential_version() -> None:
    user = uuid.uuid4()
    assert verify_staff_token(KEY, issue_staff_token(KEY, user, credential_version=7)).credential_version == 7
    console = verify_console_token(KEY, issue_console_token(KEY, user, credential_version=3))
    assert console.credential_version == 3
    assert verify_staff_token(KEY, staff_signed(claims())).credential_version is None  # no claim
    assert verify_staff_token(KEY, staff_signed(claims(cv="2"))).credential_version is None
    assert verify_staff_token(KEY, staff_signed(claims(cv=True))).credential_version is None


def test_a_token_of_one_audience_never_passes_as_the_other() -> None:
    with pytest.raises(InvalidTokenError):
        verify_staff_token(KEY, issue_contact_token(KEY, uuid.uuid4()))
    with pytest.raises(InvalidTokenError):
        verify_contact_token(KEY, issue_staff_token(KEY, uuid.uuid4()))


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(staff_signed(claims(exp=datetime.now(UTC) - timedelta(seconds=1))), id="expired"),
        pytest.param(staff_signed(claims(aud="someone-else")), id="wrong-audience"),
        pytest.param(staff_signed(claims(aud=CONTACT_AUDIENCE)), id="contact-audience-staff-key"),
        pytest.param(staff_signed(claims(iss="elsewhere")), id="wrong-issuer"),
        pytest.param(staff_signed(claims(jti=None)), id="missing-claim"),
        pytest.param(staff_signed(claims(sub="not-a-uuid")), id="bad-subject"),
        pytest.param(staff_signed(claims(), algorithm="HS512"), id="other-algorithm"),
        pytest.param(jwt.encode(claims(), "", algorithm="none"), id="alg-none"),
        pytest.param(jwt.encode(claims(), secrets.token_hex(32), algorithm="HS256"), id="wrong-signature"),
        pytest.param("not.a.token", id="garbage"),
    ],
)
def test_forged_expired_or_misaddressed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidTokenError):
        verify_staff_token(KEY, token)


def test_a_well_formed_hand_made_token_verifies() -> None:
    """The refusals above fail for their one defect: the same claims, signed right, pass."""
    assert verify_staff_token(KEY, staff_signed(claims()))


def test_without_a_key_nothing_is_issued_or_accepted() -> None:
    with pytest.raises(InvalidTokenError):
        issue_staff_token(None, uuid.uuid4())
    with pytest.raises(InvalidTokenError):
        verify_staff_token(None, issue_staff_token(KEY, uuid.uuid4()))
