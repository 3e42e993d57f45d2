"""Logs never carry a plaintext address: the masking processor, and the session-wide leak check."""

from __future__ import annotations

import io
import logging

from adapters.logging import mask_personal_data
from tests import pii


def test_processor_masks_every_field_nested_or_not() -> None:
    email, phone = pii.email(), pii.phone()
    event = mask_personal_data(
        None,
        "info",
        {"event": f"sent to {email}", "to": [phone], "ctx": {"who": email}, "n": 3},
    )
    assert pii.leaks(str(event)) == []
    assert event["n"] == 3


def test_an_address_logged_through_the_standard_library_is_masked_in_the_output(
    log_output: io.StringIO,
) -> None:
    email = pii.email()
    try:
        raise ValueError(f"bad address {email}")
    except ValueError:
        logging.getLogger("tests.leak").exception("could not send to %s", email)
    assert "tests.leak" in log_output.getvalue()
    assert pii.leaks(log_output.getvalue()) == []


def test_the_leak_check_finds_plaintext() -> None:
    email, phone = pii.email(), pii.phone()
    assert pii.leaks(f"x {email} y") == [email]
    assert pii.leaks(f"called {phone[2:5]} {phone[5:8]} {phone[8:]}") == []
    assert pii.leaks(f"called {phone}") == [phone]
