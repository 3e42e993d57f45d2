"""The opt-in program aggregate: given events, when a command, then events (or a refusal)."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidCommandError, InvalidValueError
from ledger.program import Program, disclosure_sha256, new_program
from ledger.vocabulary import SYSTEM, Actor

STAFF = Actor(kind="user", id="u-1")


def program() -> Program:
    p = new_program(
        name="Weekly offers",
        description="Deals every Friday",
        purpose="marketing",
        channels=("email", "sms", "email"),
        disclosure="You agree to receive weekly offers. Reply STOP to stop.",
        actor=STAFF,
    )
    p.collect_events()
    return p


def test_created_program_has_first_disclosure_version_and_unique_channels() -> None:
    p = program()
    assert p.channels == ("email", "sms")
    assert p.disclosure_version == 1
    assert p.disclosure_sha256 == disclosure_sha256(p.disclosure)


def test_changing_the_disclosure_makes_a_new_version() -> None:
    p = program()
    p.change_disclosure("New words. Reply STOP to stop.", STAFF)
    [event] = p.collect_events()
    assert isinstance(event, Program.DisclosureChanged)
    assert event.version == 2
    assert event.actor == STAFF
    assert p.disclosure_version == 2


def test_unchanged_values_record_nothing() -> None:
    p = program()
    p.rename("Weekly offers", STAFF)
    p.change_disclosure(p.disclosure, STAFF)
    assert p.collect_events() == []


def test_archived_program_refuses_changes() -> None:
    p = program()
    p.archive(SYSTEM)
    with pytest.raises(InvalidCommandError):
        p.rename("Other", STAFF)


def test_a_program_needs_a_channel() -> None:
    with pytest.raises(InvalidCommandError):
        new_program(name="x", description="", purpose="marketing", channels=(), disclosure="d", actor=STAFF)
    with pytest.raises(InvalidCommandError):
        program().set_channels((), STAFF)


@pytest.mark.parametrize("bad", ["", "   ", "nul\x00byte", "bell\x07", "two\nlines", "x" * 121])
def test_names_must_be_plain_one_line_text(bad: str) -> None:
    with pytest.raises(InvalidValueError):
        program().rename(bad, STAFF)


def test_disclosures_may_span_lines_but_hold_no_control_characters() -> None:
    p = program()
    p.change_disclosure("Line one.\nLine two. Reply STOP to stop.", STAFF)
    with pytest.raises(InvalidValueError):
        p.change_disclosure("Hidden\x00text", STAFF)
