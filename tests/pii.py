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
    """A fresh, unique, valid US number in E.164, from the fictional 555-0100…0199 range."""
    n = next(_counter)
    address = f"+1{_AREAS[(n // 100) % len(_AREAS)]}55501{n % 100:02d}"
    USED.add(address)
    return address


def remember(address: str) -> str:
    """Register an address spelled by hand in a test."""
    USED.add(address)
    return address


def leaks(text: str) -> list[str]:
    """The used addresses (or their digits, for phones) that appear in `text`."""
    found = []
    for address in USED:
        needle = address if "@" in address else re.sub(r"\D", "", address)[-9:]
        if needle.lower() in text.lower():
            found.append(address)
    return sorted(found)
