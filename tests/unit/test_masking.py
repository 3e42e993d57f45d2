"""Masking: the documented shapes, and free text scrubbed of addresses."""

from __future__ import annotations

from ledger.masking import mask_address, mask_email, mask_phone, scrub


def test_documented_shapes() -> None:
    assert mask_email("john@example.com") == "j***@e***.com"
    assert mask_phone("+447911123123") == "+44*******123"
    assert mask_phone("+14155550100") == "+1*******100"
    assert mask_address("john@example.com") == "j***@e***.com"


def test_scrub_masks_addresses_inside_text_and_urls() -> None:
    text = "sent to john.doe@example.org and +44 7911 123123, query address=jane%40example.com"
    out = scrub(text)
    assert "john.doe" not in out
    assert "7911 123123" not in out
    assert "jane" not in out
    assert "j***@e***.org" in out


def test_scrub_leaves_ids_and_times_alone() -> None:
    text = "event 12 at 2026-11-26T01:50:32Z id 7e8bd5d3-a231-4245-86bc-f3557809194e"
    assert scrub(text) == text
