"""Keywords, webhook signatures, unsubscribe tokens and the send policy, without any I/O."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from adapters.settings import SettingsError, load_settings
from adapters.sms.signature import twilio_signature, valid_signature
from api.auth.receipt_links import ReceiptLinkTokens
from api.auth.tokens import InvalidTokenError
from api.auth.unsubscribe_tokens import UnsubscribeTokens
from ledger.keywords import Keywords


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


def test_receipt_links_accept_only_their_one_spelling() -> None:
    """A 38-character link ends in a character with 4 unused low bits: the 15 other spellings
    decode to the same bytes, and are still refused, so a link cannot be rewritten and pass."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    links = ReceiptLinkTokens(bytes(32), "https://optin.example.org")
    message = uuid.uuid4()
    token = links.token(message)
    assert links.verify(token) == message
    value = alphabet.index(token[-1])
    for bits in range(1, 16):
        with pytest.raises(InvalidTokenError):
            links.verify(token[:-1] + alphabet[value ^ bits])
