"""The revocation classifier: plain revocations opt out, doubtful ones are reviewed, the rest pass;
figures on the labelled corpus (the same one `optin-ledger bench revocation` reports on)."""

from __future__ import annotations

import pytest

from api.bench import revocation as bench
from ledger.keywords import STOP_WORDS
from ledger.revocation import RevocationClassifier, fold_text

ENGLISH_ONLY = RevocationClassifier.for_keywords(STOP_WORDS)
EVERY = RevocationClassifier.for_keywords(bench.EVERY_LANGUAGE)


@pytest.mark.parametrize(
    "reply", ["stop texting me", "Unsubscribe please", "remove me", "No more messages!", "STOP please"]
)
def test_plain_revocations_opt_out(reply: str) -> None:
    assert ENGLISH_ONLY.classify(reply).verdict == "revoke"


@pytest.mark.parametrize(
    "reply",
    ["stop by the store later?", "can I cancel my order?", "please don't stop these", "not interested"],
)
def test_doubtful_replies_go_to_review(reply: str) -> None:
    assert ENGLISH_ONLY.classify(reply).verdict == "review"


@pytest.mark.parametrize("reply", ["Thanks!", "what time do you open", "", "   ", "👍"])
def test_ordinary_replies_are_nothing(reply: str) -> None:
    assert ENGLISH_ONLY.classify(reply).verdict == "none"


def test_the_classification_names_what_decided_it() -> None:
    found = ENGLISH_ONLY.classify("Please STOP texting me, thanks")
    assert (found.verdict, found.language, found.matched) == ("revoke", "en", "stop texting me")


def test_languages_follow_the_configured_stop_keywords() -> None:
    spanish = "Dejen de enviarme mensajes"
    assert ENGLISH_ONLY.languages == ("en",)
    assert ENGLISH_ONLY.classify(spanish).verdict == "none"
    with_spanish = RevocationClassifier.for_keywords((*STOP_WORDS, "Baja"))
    assert with_spanish.languages == ("en", "es")
    assert with_spanish.classify(spanish).verdict == "revoke"
    assert with_spanish.classify("baja por favor").verdict == "revoke"


def test_a_configured_stop_keyword_counts_inside_a_short_reply() -> None:
    custom = RevocationClassifier.for_keywords(("HALT",))
    assert custom.classify("halt please").verdict == "revoke"
    assert custom.classify("halt the order until Monday").verdict == "review"


def test_folding_ignores_case_accents_and_punctuation() -> None:
    assert fold_text("¡No me envíen MÁS!") == "no me envien mas"
    assert fold_text("Don’t text me") == "dont text me"
    assert fold_text("Löscht meine Straße") == "loscht meine strasse"


def test_the_corpus_is_large_enough_and_labelled() -> None:
    items = list(bench.corpus())
    assert sum(i.revoking for i in items) >= 100
    assert sum(not i.revoking for i in items) >= 100
    assert {i.language for i in items} >= {"en", "es", "fr", "de", "pt", "it"}


def test_corpus_figures() -> None:
    figures = bench.run(EVERY)
    assert figures["others_opted_out"] == 0  # a wrong opt-out silences a customer: none at all
    assert figures["precision"] == 1.0
    assert isinstance(figures["recall"], float) and figures["recall"] >= 0.95
    assert figures["revoking_missed"] == 0  # what is not plain goes to review, never unseen
