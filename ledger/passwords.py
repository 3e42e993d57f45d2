"""The password rules for staff accounts: long enough, and not one of the passwords people always pick.

Checked before hashing, in the domain, so the CLI and the API refuse the same passwords. The
common-password list ships with the package (`common_passwords.txt`); a password is refused when
it is on the list, or is a listed word with digits and symbols around it (`Password123!`).
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from ledger.errors import InvalidValueError

MIN_LENGTH = 12
MAX_LENGTH = 256  # bounds the hashing work one request can ask for

_DECORATION = re.compile(r"^[\d\W_]+|[\d\W_]+$")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased (read once, on first use)."""
    text = resources.files("ledger").joinpath("common_passwords.txt").read_text()
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def check_password(password: str, *, email: str | None = None) -> None:
    """Refuse a password that breaks a rule, with a message that says which (never the password)."""
    if len(password) < MIN_LENGTH:
        raise InvalidValueError(f"password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise InvalidValueError(f"password must be at most {MAX_LENGTH} characters long")
    lowered = password.lower()
    base = _DECORATION.sub("", lowered)
    listed = common_passwords()
    if lowered in listed or base in listed or not base or len(set(lowered)) < 4:
        raise InvalidValueError("password is too common or too easy to guess; choose another")
    name = email.partition("@")[0].lower() if email else ""
    if len(name) >= 3 and name in lowered:
        raise InvalidValueError("password must not contain the account's email name")
