"""Templates and rendering: opt-out wording, placeholders, escaping per channel, SMS segments."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidValueError
from ledger.rendering import MissingVariableError, html_to_text, placeholders, render, sms_length
from ledger.template import check_content, create_template, default_template_id
from ledger.vocabulary import SYSTEM


def test_a_promotional_template_without_opt_out_wording_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="STOP"):
        check_content("promotional", "sms", None, "Big sale today!")
    with pytest.raises(InvalidValueError, match="unsubscribe_url"):
        check_content("promotional", "email", "Sale", "<p>Big sale today!</p>")
    check_content("promotional", "sms", None, "Big sale today! Reply STOP to opt out.")
    check_content("promotional", "email", "Sale", '<a href="{{ unsubscribe_url }}">Unsubscribe</a>')
    check_content("transactional", "sms", None, "Your parcel left the depot.")  # not marketing


def test_invites_need_opt_out_wording_and_the_code() -> None:
    with pytest.raises(InvalidValueError, match="STOP"):
        check_content("optin_invite", "sms", None, "Join us with code {{ code }}")
    with pytest.raises(InvalidValueError, match="code"):
        check_content("optin_invite", "sms", None, "Join us. Reply STOP to opt out.")


def test_email_needs_a_subject_and_sms_has_none() -> None:
    with pytest.raises(InvalidValueError, match="subject"):
        check_content("transactional", "email", None, "<p>Hi</p>")
    with pytest.raises(InvalidValueError, match="no subject"):
        check_content("transactional", "sms", "Hi", "Hi")


def test_stray_braces_are_refused_and_placeholders_found_in_order() -> None:
    assert placeholders("{{ b }} {{a}} {{ b }}") == ["b", "a"]
    with pytest.raises(InvalidValueError):
        placeholders("Hello {{ name }")
    with pytest.raises(InvalidValueError):
        placeholders("Hello {{ first name }}")


def test_a_missing_variable_is_an_error_naming_it() -> None:
    with pytest.raises(MissingVariableError) as refused:
        render("sms", None, "Hi {{ name }}, order {{ order }}", {"name": "Ann"})
    assert refused.value.missing == ["order"]


def test_html_in_a_variable_is_escaped_in_email_and_left_alone_in_sms() -> None:
    evil = '<script>alert("x")</script> & co'
    email = render("email", "For {{ who }}", "<p>Hello {{ who }}</p>", {"who": evil})
    assert email.html == "<p>Hello &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</p>"
    assert "<script>" not in (email.html or "")
    assert email.text == f"Hello {evil}"
    assert email.subject == f"For {evil}"
    sms = render("sms", None, "Hello {{ who }}", {"who": evil})
    assert sms.text == f"Hello {evil}"


def test_a_line_break_in_a_variable_cannot_add_an_email_header() -> None:
    rendered = render("email", "Hi {{ who }}", "<p>x</p>", {"who": "Ann\r\nBcc: someone"})
    assert "\n" not in (rendered.subject or "") and "\r" not in (rendered.subject or "")


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
        ("é" * 160, "GSM-7", 160, 1),  # in the basic table
        ("ç" * 70, "UCS-2", 70, 1),  # not in GSM-7 (only Ç is)
        ("ç" * 71, "UCS-2", 71, 2),
        ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, "UCS-2", 72, 2),
    ],
)
def test_sms_length_and_segments(text: str, encoding: str, units: int, segments: int) -> None:
    length = sms_length(text)
    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)


def test_the_text_alternative_keeps_words_links_and_blocks() -> None:
    page = '<p>Hello <b>you</b></p><p><a href="https://x.example/u/1">Unsubscribe</a></p>'
    assert html_to_text(page) == "Hello you\n\nUnsubscribe <https://x.example/u/1>"


def test_defaults_and_program_templates_have_reserved_ids() -> None:
    default = create_template(
        name="d", kind="transactional", channel="sms", subject=None, body="{{ message }}", actor=SYSTEM,
        is_default=True,
    )  # fmt: skip
    assert default.id == default_template_id("transactional", "sms")
    default.revise(None, "Note: {{ message }}", SYSTEM)
    assert default.content_version == 2
    with pytest.raises(Exception, match="cannot be archived"):
        default.archive(SYSTEM)
