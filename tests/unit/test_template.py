"""The template aggregate: versions, names, archival; given events, when a command, then events."""

from __future__ import annotations

import uuid

import pytest

from ledger.errors import InvalidCommandError, InvalidValueError
from ledger.template import Template, create_template, default_template_id, program_template_id
from tests.unit.world import STAFF, given, then

PROGRAM = uuid.uuid4()
BODY = "Deals this week: {{ offer }}. Reply STOP to opt out."


def template(*, is_default: bool = False) -> Template:
    return given(
        create_template(
            name="Offers", kind="promotional", channel="sms", subject=None, body=BODY, actor=STAFF,
            optin_id=None if is_default else PROGRAM, is_default=is_default,
        )
    )  # fmt: skip


def test_a_programs_template_and_a_default_have_their_reserved_ids() -> None:
    assert template().id == program_template_id(PROGRAM, "promotional", "sms")
    assert template(is_default=True).id == default_template_id("promotional", "sms")


def test_new_text_is_a_new_version_and_the_same_text_is_nothing() -> None:
    offers = template()
    offers.revise(None, "New deals: {{ offer }}. Reply STOP to opt out.", STAFF)
    assert (then(offers), offers.content_version) == (["template.revised"], 2)
    offers.revise(None, offers.body, STAFF)
    assert then(offers) == []


def test_a_revision_must_keep_the_opt_out_wording() -> None:
    offers = template()
    with pytest.raises(InvalidValueError, match="STOP"):
        offers.revise(None, "Deals: {{ offer }}", STAFF)
    assert (then(offers), offers.content_version) == ([], 1)


def test_an_archived_template_refuses_changes() -> None:
    offers = template()
    offers.archive(STAFF)
    offers.archive(STAFF)
    assert then(offers) == ["template.archived"]
    with pytest.raises(InvalidCommandError, match="archived"):
        offers.rename("Other", STAFF)
    with pytest.raises(InvalidCommandError, match="archived"):
        offers.revise(None, BODY + " More.", STAFF)


def test_a_default_template_is_never_archived() -> None:
    fallback = template(is_default=True)
    with pytest.raises(InvalidCommandError, match="default"):
        fallback.archive(STAFF)


def test_renaming_records_only_a_change() -> None:
    offers = template()
    offers.rename("Offers", STAFF)
    offers.rename("Friday offers", STAFF)
    assert (then(offers), offers.name) == (["template.renamed"], "Friday offers")
