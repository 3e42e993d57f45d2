"""Password rules: length, the common-password list and its decorated variants, the email's name."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidValueError
from ledger.passwords import MIN_LENGTH, check_password, common_passwords


@pytest.mark.parametrize(
    "password",
    [
        "short",
        "a" * (MIN_LENGTH - 1),
        "password1234",
        "Password123!",
        "!!Qwertyuiop2024",
        "123456789012",
        "aaaaaaaaaaaaaa",
        "ababababababab",
        "x" * 300,
    ],
)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(InvalidValueError) as refused:
        check_password(password)
    assert password not in str(refused.value)


def test_a_password_containing_the_email_name_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="email name"):
        check_password("my-jdoe-secret-2024", email="jdoe@example.org")


@pytest.mark.parametrize("password", ["correct horse battery", "T9#kq!vW2p@zL7", "otters-juggle-quietly"])
def test_strong_passwords_pass(password: str) -> None:
    check_password(password, email="someone@example.org")


def test_the_shipped_list_is_loaded_and_lower_case() -> None:
    listed = common_passwords()
    assert {"password", "123456", "qwertyuiop", "iloveyou"} <= listed
    assert all(p == p.lower() and not p.startswith("#") for p in listed)
