"""Rendering properties: no variable can add markup to an email; segment counts always fit the text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.rendering import render, sms_length

values = st.text(max_size=300)


@given(values, values)
def test_no_variable_value_can_add_markup_to_an_email(name: str, note: str) -> None:
    rendered = render(
        "email", "Hi {{ name }}", "<p>{{ name }}</p><p>{{ note }}</p>", {"name": name, "note": note}
    )
    assert rendered.html is not None
    body = rendered.html.removeprefix("<p>").removesuffix("</p>").replace("</p><p>", "", 1)
    assert "<" not in body and ">" not in body and '"' not in body
    assert "\n" not in (rendered.subject or "") and "\r" not in (rendered.subject or "")


@given(st.text(max_size=2000))
def test_segments_hold_the_whole_text_and_no_more_than_needed(text: str) -> None:
    length = sms_length(text)
    single, part = (160, 153) if length.encoding == "GSM-7" else (70, 67)
    if length.segments == 1:
        assert length.units <= single
    else:
        assert (length.segments - 1) * part < length.units <= length.segments * part


@given(values)
def test_sms_values_are_sent_exactly_as_given(message: str) -> None:
    assert render("sms", None, "{{ message }}", {"message": message}).text == message
