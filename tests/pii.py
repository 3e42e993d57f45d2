"""Test addresses: every one a test uses is remembered, so the session can prove none leaked.

At the end of the session (tests/conftest.py) the captured log output of the whole run is
searched for each of them; any hit fails the run.
"""

from __future__ import annotations

import itertools
import re

USED: set[str] = set()
_counter = itertools.count(1)


def email() -> str:
    """A fresh, unique, valid email address."""
    address = f"person{next(_counter)}.test@example-mail.org"
    USED.add(address)
    return address


_AREAS = (201, 202, 212, 213, 305, 312, 415, 617, 646, 702, 718, 917, 206, 303, 404, 512)


def phone() -> str:
    """A fresh, unique, valid US number in E.164, from the fictional 555-0100…0199 range.

    Unique by its digits too: a number a test spelled by hand ("+1 (415) 555-0123") and
    registered with `remember` is never handed out again, so `leaks` names one address per hit.
    """
    taken = {_digits(a) for a in USED if "@" not in a}
    for _ in range(len(_AREAS) * 100):
        n = next(_counter)
        address = f"+1{_AREAS[(n // 100) % len(_AREAS)]}55501{n % 100:02d}"
        if _digits(address) not in taken:
            USED.add(address)
            return address
    raise RuntimeError(f"all {len(_AREAS) * 100} test phone numbers are in use; add area codes")


def _digits(address: str) -> str:
    return re.sub(r"\D", "", address)[-9:]


def remember(address: str) -> str:
    """Register an address spelled by hand in a test."""
    USED.add(address)
    return address


def leaks(text: str) -> list[str]:
    """The used addresses (or their digits, for phones) that appear in `text`."""
    found = []
    for address in USED:
        needle = address if "@" in address else _digits(address)
        if needle.lower() in text.lower():
            found.append(address)
    return sorted(found)
