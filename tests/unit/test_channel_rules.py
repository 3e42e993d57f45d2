"""Keywords, webhook signatures, unsubscribe tokens and the send policy, without any I/O."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from adapters.settings import SettingsError, load_settings
from adapters.sms.signature import twilio_signature, valid_signature
from api.auth.tokens import InvalidTokenError
from api.auth.unsubscribe_tokens import UnsubscribeTokens
from ledger.channel_optout import OptOutState
from ledger.consent import Decision
from ledger.keywords import Keywords
from ledger.message import Basis
from ledger.send_policy import ConsentNow, Refusal, decide, purpose_of


@pytest.mark.parametrize(
    ("body", "family"),
    [
        ("STOP", "stop"), (" stop ", "stop"), ("Stop all", "stop"), ("STOPALL", "stop"),
        ("unsubscribe", "stop"),
        ("Cancel", "stop"), ("end", "stop"), ("QUIT", "stop"), ("revoke", "stop"), ("opt out", "stop"),
        ("Stop.", "stop"), ("start", "start"), ("Yes", "start"), ("UNSTOP", "start"), ("help", "help"),
        ("Info", "help"), ("please stop", None), ("stop texting me", None), ("", None),
    ],
)  # fmt: skip
def test_keywords_are_whole_messages_case_and_space_insensitive(body: str, family: str | None) -> None:
    found = Keywords().classify(body)
    assert (found[0] if found else None) == family


def test_keyword_lists_can_be_replaced() -> None:
    keywords = Keywords(stop=frozenset({"ARRET"}))
    assert keywords.classify("arret") == ("stop", "ARRET")
    assert keywords.classify("stop") is None


def test_the_twilio_signature_matches_the_providers_documented_example() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert valid_signature("12345", url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not valid_signature("12345", url, {**params, "Digits": "1235"}, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not valid_signature("12345", url, params, None)


def test_unsubscribe_tokens_name_contact_and_program_and_cannot_be_forged() -> None:
    tokens = UnsubscribeTokens(bytes(32), "https://optin.example.org", "unsubscribe@example.org")
    contact, program = uuid.uuid4(), uuid.uuid4()
    token = tokens.token(contact, program)
    assert tokens.verify(token) == (contact, program)
    assert tokens.url(contact, program) == f"https://optin.example.org/u/{token}"
    assert (tokens.mailto(contact, program) or "").startswith("mailto:unsubscribe@example.org?subject=")
    other = UnsubscribeTokens(bytes(range(32)), "https://optin.example.org")
    for forged in (other.token(contact, program), token[:-2] + "AA", "x", token + "A"):
        with pytest.raises(InvalidTokenError):
            tokens.verify(forged)


def _now(status: str, position: int | None, optout: int | None = None) -> ConsentNow:
    return ConsentNow(
        consent=Decision(status=status, position=position, topic="consent.x"),  # type: ignore[arg-type]
        optout=OptOutState(in_force=optout is not None, position=optout),
    )


def test_marketing_needs_an_opt_in_given_after_any_channel_opt_out() -> None:
    assert isinstance(decide("marketing", _now("opted_in", 7)), Basis)
    assert decide("marketing", _now("opted_in", 7)).consent_position == 7  # type: ignore[union-attr]
    assert decide("marketing", _now("unknown", None)) == Refusal(reason="no_consent")
    assert decide("marketing", _now("pending", 3)) == Refusal(reason="consent_pending", position=3)
    assert decide("marketing", _now("opted_out", 4)) == Refusal(reason="opted_out", position=4)
    assert decide("marketing", _now("opted_in", 7, optout=9)) == Refusal(
        reason="channel_opted_out", position=9
    )
    assert isinstance(decide("marketing", _now("opted_in", 12, optout=9)), Basis)


def test_transactional_needs_no_consent_but_no_opt_out_either() -> None:
    assert isinstance(decide("transactional", _now("unknown", None)), Basis)
    assert decide("transactional", _now("opted_out", 4)) == Refusal(reason="opted_out", position=4)
    assert decide("transactional", _now("opted_in", 12, optout=9)) == Refusal(
        reason="channel_opted_out", position=9
    )
    assert purpose_of("transactional", "transactional") == "transactional"
    assert purpose_of("transactional", "marketing") == "marketing"
    assert purpose_of("promotional", "transactional") == "marketing"


def test_keyword_lists_and_retry_settings_come_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "OPTIN_SMS_STOP_KEYWORDS": "arret, Halt ,",
            "OPTIN_SEND_MAX_ATTEMPTS": "4",
            "OPTIN_SEND_RETRY_SECONDS": "2.5",
        },
        data_dir=tmp_path,
    )
    assert settings.sms_stop_keywords == ("ARRET", "HALT")
    assert settings.sms_start_keywords == ("START", "YES", "UNSTOP")
    assert (settings.send_max_attempts, settings.send_retry_seconds) == (4, 2.5)
    for bad in (
        {"OPTIN_SEND_RETRY_SECONDS": "soon"},
        {"OPTIN_SEND_RETRY_SECONDS": "-1"},
        {"OPTIN_SMS_HELP_KEYWORDS": ","},
    ):
        with pytest.raises(SettingsError):
            load_settings(bad, data_dir=tmp_path)
